#!/usr/bin/env python3
"""Package the VS Code extension with ailoop and every library it needs inside (one .vsix a platform).

The approach of Microsoft's python-tool extension template (``bundled/libs``): the .vsix
carries ailoop's own package and its dependencies, and the extension runs them with the
Python interpreter it finds (see ``bundled/tool/launch.py``). ruff, ty, regex, ast-grep-py
and vl-convert-python are platform wheels, so the package is per platform (``vsce package
--target``): their files for that platform, and for regex and ast-grep-py (one wheel per
CPython version) the compiled modules of every supported CPython version side by side (a
module's file name carries its version: ``_regex.cpython-312-x86_64-linux-gnu.so``).

usage: python3 scripts/package.py [--target linux-x64] [--out ailoop.vsix] [--cache DIR]

Downloads (from the package index, only when the cache lacks them): the pinned wheels of
``bundle-requirements.txt`` and setuptools to build ailoop's wheel. Everything is cached
under ``--cache`` (default ``$AILOOP_BUNDLE_CACHE`` or ``~/.cache/ailoop-editors/vscode-bundle``),
outside the clone, and a .vsix built from the same inputs is reused as it is.
Writes ``bundled/libs/`` and ``bundled/wheels/`` (gitignored) and the .vsix.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXT = HERE.parent
REPO = EXT.parent
REQUIREMENTS = EXT / "bundle-requirements.txt"
#: CPython versions the bundle carries compiled modules for (regex and ast-grep-py 0.51
#: publish wheels for 3.11 and later only).
PYTHONS = ("3.11", "3.12", "3.13", "3.14")
#: vsce targets -> the platform tags pip may choose wheels of.
PLATFORMS: dict[str, tuple[str, ...]] = {
    "linux-x64": ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"),
    "linux-arm64": ("manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"),
    "darwin-x64": (
        "macosx_10_12_x86_64",
        "macosx_10_9_x86_64",
        "macosx_10_13_x86_64",
        "macosx_11_0_x86_64",
    ),
    "darwin-arm64": ("macosx_11_0_arm64", "macosx_12_0_arm64", "macosx_10_12_universal2"),
    "win32-x64": ("win_amd64",),
}
#: The extension's own files that go into the .vsix (for the cache key).
EXTENSION_INPUTS = (
    "package.json",
    "package-lock.json",
    "README.md",
    "LICENSE",
    ".vscodeignore",
    "bundle-requirements.txt",
    "scripts/package.py",
    "tsconfig.json",
)


def log(message: str) -> None:
    """Print a progress line."""
    print(f"[package] {message}", flush=True)


def host_target() -> str:
    """Return the vsce target of this machine."""
    machine = platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )
    system = {"linux": "linux", "darwin": "darwin", "windows": "win32"}[platform.system().lower()]
    return f"{system}-{arch}"


def requirements() -> list[tuple[str, str]]:
    """(name, version) of each pin in bundle-requirements.txt."""
    pins = []
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins.append((name.strip(), version.strip()))
    return pins


def normalized(name: str) -> str:
    """Return a distribution name as wheel file names spell it."""
    return name.lower().replace("-", "_").replace(".", "_")


def digest_files(paths: list[Path], root: Path) -> str:
    """Return a short hash of the files' names and contents."""
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:20]


def ailoop_sources() -> list[Path]:
    """Return the files ailoop's wheel is built from."""
    files = [
        p
        for p in (REPO / "server" / "ailoop").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    return [REPO / "pyproject.toml", REPO / "README.md", *files]


def extension_sources() -> list[Path]:
    """Return the extension's own files that go into the .vsix."""
    files = [EXT / name for name in EXTENSION_INPUTS if (EXT / name).is_file()]
    files += [
        p for p in (EXT / "src").rglob("*.ts") if "test" not in p.relative_to(EXT / "src").parts
    ]
    files += [
        p
        for p in (EXT / "bundled" / "tool").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    return files


def run(argv: list[str], **kwargs: object) -> None:
    """Run a command, echoing it; fail on a non-zero exit."""
    log("$ " + " ".join(argv))
    subprocess.run(argv, check=True, **kwargs)  # type: ignore[call-overload]


def download_wheels(wheelhouse: Path, target: str, pins: list[tuple[str, str]], key: str) -> None:
    """Download the pinned wheels for every CPython version on ``target`` (skipped when done before)."""
    done = wheelhouse / f".done-{key}"
    if done.is_file():
        return
    wheelhouse.mkdir(parents=True, exist_ok=True)
    platforms = [arg for tag in PLATFORMS[target] for arg in ("--platform", tag)]
    for version in PYTHONS:
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary=:all:",
                *platforms,
                "--python-version",
                version,
                "--implementation",
                "cp",
                "--dest",
                str(wheelhouse),
                *(f"{name}=={version_}" for name, version_ in pins),
            ]
        )
    done.write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


def unpack_wheel(wheel: Path, into: Path) -> None:
    """Install a wheel's files into a --target directory (scripts into ``bin/``), as pip does."""
    dist = "-".join(wheel.name.split("-")[:2])
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = info.filename
            if name.startswith(f"{dist}.data/"):
                kind, _, rest = name[len(dist) + 6 :].partition("/")
                if kind == "scripts":
                    out, executable = into / "bin" / rest, True
                elif kind in {"purelib", "platlib"}:
                    out, executable = into / rest, False
                else:
                    continue  # headers, data: not needed to run
            else:
                out, executable = into / name, False
            out.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, out.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            mode = (info.external_attr >> 16) & 0o777
            if executable or mode & 0o111:
                out.chmod(out.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def third_party_libs(cache: Path, target: str) -> tuple[Path, dict[str, str]]:
    """Return the unpacked pinned libraries for ``target`` (built once per pin set)."""
    pins = requirements()
    key = hashlib.sha256(json.dumps([pins, PYTHONS, target]).encode()).hexdigest()[:16]
    libs = cache / "libs" / f"{target}-{key}"
    versions = {normalized(name): version for name, version in pins}
    if (libs / ".complete").is_file():
        return libs, versions
    wheelhouse = cache / "wheelhouse" / target
    download_wheels(wheelhouse, target, pins, key)
    staging = Path(
        tempfile.mkdtemp(
            prefix=f"{target}-", dir=cache / "libs" if (cache / "libs").is_dir() else None
        )
    )
    wanted = set(versions.items())
    used = []
    for wheel in sorted(wheelhouse.glob("*.whl")):
        name, version = wheel.name.split("-")[:2]
        if (normalized(name), version) in wanted:
            unpack_wheel(wheel, staging)
            used.append(wheel.name)
    missing = wanted - {(normalized(w.split("-")[0]), w.split("-")[1]) for w in used}
    if missing:
        raise SystemExit(f"package.py: no wheel for {sorted(missing)} in {wheelhouse}")
    (staging / ".complete").write_text("\n".join(used) + "\n")
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    log(f"unpacked {len(used)} wheels into {libs}")
    return libs, versions


def ailoop_wheel(cache: Path) -> Path:
    """Ailoop's wheel built from this checkout (from a copy of its sources: the tree stays clean)."""
    key = digest_files(ailoop_sources(), REPO)
    out = cache / "ailoop-wheel" / key
    found = sorted(out.glob("ailoop-*.whl")) if out.is_dir() else []
    if found:
        return found[0]
    with tempfile.TemporaryDirectory(prefix="ailoop-src-") as tmp:
        src = Path(tmp) / "src"
        (src / "server").mkdir(parents=True)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(REPO / name, src / name)
        if (REPO / "LICENSE").is_file():
            shutil.copy2(REPO / "LICENSE", src / "LICENSE")
        shutil.copytree(
            REPO / "server" / "ailoop",
            src / "server" / "ailoop",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--wheel-dir",
                str(Path(tmp) / "dist"),
                str(src),
            ]
        )
        [wheel] = (Path(tmp) / "dist").glob("ailoop-*.whl")
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy2(wheel, out / wheel.name)
    return out / wheel.name


def copy_tree(source: Path, dest: Path) -> None:
    """Copy ``source`` to ``dest`` with hard links where the file system allows."""
    try:
        shutil.copytree(source, dest, copy_function=os.link)
    except OSError:
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(source, dest)


def main() -> int:
    """Build the .vsix (or copy the cached one)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--target",
        default=os.environ.get("AILOOP_VSIX_TARGET") or host_target(),
        choices=sorted(PLATFORMS),
    )
    parser.add_argument("--out", type=Path, default=EXT / "ailoop.vsix")
    default_cache = os.environ.get("AILOOP_BUNDLE_CACHE") or str(
        Path.home() / ".cache" / "ailoop-editors" / "vscode-bundle"
    )
    parser.add_argument("--cache", type=Path, default=Path(default_cache))
    args = parser.parse_args()
    started = time.monotonic()
    cache: Path = args.cache.expanduser().resolve()
    (cache / "libs").mkdir(parents=True, exist_ok=True)
    out: Path = args.out.resolve()

    key = hashlib.sha256(
        (
            digest_files(ailoop_sources(), REPO)
            + digest_files(extension_sources(), EXT)
            + args.target
        ).encode()
    ).hexdigest()[:20]
    cached = cache / "vsix" / f"ailoop-{args.target}-{key}.vsix"
    if cached.is_file():
        shutil.copy2(cached, out)
        log(
            f"unchanged inputs: {out} from the cache ({cached.name}), {time.monotonic() - started:.1f}s"
        )
        return 0

    libs, versions = third_party_libs(cache, args.target)
    wheel = ailoop_wheel(cache)
    bundled = EXT / "bundled"
    shutil.rmtree(bundled / "libs", ignore_errors=True)
    shutil.rmtree(bundled / "wheels", ignore_errors=True)
    copy_tree(libs, bundled / "libs")
    (bundled / "libs" / ".complete").unlink(missing_ok=True)
    unpack_wheel(wheel, bundled / "libs")
    (bundled / "wheels").mkdir()
    shutil.copy2(wheel, bundled / "wheels" / wheel.name)
    ailoop_version = wheel.name.split("-")[1]
    manifest = {
        "target": args.target,
        "pythons": list(PYTHONS),
        "ailoop": ailoop_version,
        "wheel": wheel.name,
        "packages": versions,
    }
    (bundled / "libs" / "ailoop-bundle.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log(
        f"bundled/libs: ailoop {ailoop_version} + {len(versions)} packages for {args.target}, CPython {', '.join(PYTHONS)}"
    )

    vsce = EXT / "node_modules" / ".bin" / "vsce"
    run(
        [str(vsce), "package", "--no-dependencies", "--target", args.target, "--out", str(out)],
        cwd=EXT,
    )
    (cache / "vsix").mkdir(exist_ok=True)
    for old in sorted(
        (cache / "vsix").glob(f"ailoop-{args.target}-*.vsix"), key=lambda p: p.stat().st_mtime
    )[:-2]:
        old.unlink()  # keep the last few builds
    shutil.copy2(out, cached)
    log(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
