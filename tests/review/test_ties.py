"""A commented line that several snippets share (``except:``) goes to the right one: the
lines around the comment settle it."""

from __future__ import annotations

from pathlib import Path

from ailoop.capture.identity import snippet_id
from tests.review.support import (
    commit,
    git,
    ingest,
    make_repo,
    outcomes,
    record_snippet,
    review_comment,
    save,
    write,
)


def loader(n: int) -> str:
    return f"def load_{n}(path):\n    try:\n        return open(path).read()\n    except:\n        return ''\n"


def test_a_shared_line_goes_to_the_snippet_around_it(tmp_path: Path, data_dir: Path) -> None:
    root = make_repo(tmp_path / "repo")
    base = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-b", "loaders")
    for n in range(3):
        write(root, f"shop/load_{n}.py", loader(n))
        record_snippet(data_dir, loader(n), f"shop/load_{n}.py")
    head = commit(root, "loaders")
    folder = tmp_path / "d"
    # "except:" is in all three snippets; the comments are on each file's line 4
    for n in (2, 0, 1):
        save(folder, f"{n}.json", review_comment(7, 300 + n, head, base, f"shop/load_{n}.py", 4,
                                                 "catch what you expect"))  # fmt: skip
    code, out, err = ingest(root, data_dir, folder)
    assert code == 0, err
    assert outcomes(data_dir) == {("commented", snippet_id(loader(n))) for n in range(3)}
    assert out.count("matched snippet") == 3
