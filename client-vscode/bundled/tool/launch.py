"""Run ailoop from the libraries bundled in the VS Code extension (``bundled/libs``).

The extension starts ``<python> -I bundled/tool/launch.py serve --stdio`` (or another
ailoop subcommand: ``report``, ``stats``) with the interpreter it found. ``-I`` keeps
``PYTHONPATH``, the user's site directory and the working directory out of ``sys.path``;
the bundle goes first, so its pinned versions run whatever the interpreter has installed.

ruff and ty: ailoop looks for them in the workspace's virtual environment (trusted
workspaces), then next to the interpreter, then on ``PATH``; the bundle's ``bin/`` is put
first on ``PATH`` here, so a workspace's or an interpreter's own ruff and ty still win and
the bundled ones come before any other on ``PATH``.
"""

import json
import os
import sys
from pathlib import Path

LIBS = Path(__file__).resolve().parent.parent / "libs"
#: Exit code when this interpreter cannot run the bundle (the extension tells the user).
UNSUPPORTED = 4


def _supported() -> "tuple[bool, str]":
    try:
        with (LIBS / "ailoop-bundle.json").open(encoding="utf-8") as handle:
            manifest = json.load(handle)
    except OSError:
        return False, f"the extension has no bundled libraries ({LIBS} is missing)"
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if sys.implementation.name != "cpython" or version not in manifest.get("pythons", []):
        supported = ", ".join(manifest.get("pythons", []))
        return False, (
            f"the bundled ailoop runs on CPython {supported}; {sys.executable} is "
            f"{sys.implementation.name} {version}"
        )
    return True, ""


def main() -> int:
    """Check the interpreter, put the bundle first on ``sys.path`` and run ailoop's CLI."""
    ok, problem = _supported()
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        if not ok:
            print(problem, file=sys.stderr)
            return UNSUPPORTED
        print(json.dumps({"python": sys.executable, "version": sys.version.split()[0]}))
        return 0
    if not ok:
        print(f"ailoop: {problem}", file=sys.stderr)
        return UNSUPPORTED
    sys.path.insert(0, str(LIBS))
    scripts = LIBS / ("Scripts" if os.name == "nt" else "bin")
    os.environ["PATH"] = str(scripts) + os.pathsep + os.environ.get("PATH", "")
    sys.argv[0] = "ailoop"
    from ailoop.cli import main as ailoop_main

    return ailoop_main()


if __name__ == "__main__":
    sys.exit(main())
