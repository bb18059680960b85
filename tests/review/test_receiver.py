"""``ailoop review serve`` over real HTTP on localhost: signatures, limits, duplicates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ailoop.capture.identity import snippet_id
from ailoop.review.receiver import github_signature
from tests.review.support import (
    TOTAL,
    commit,
    git,
    line_of,
    make_repo,
    record_snippet,
    review_comment,
    reviewed,
    write,
)  # fmt: skip

SERVER = str(Path(__file__).resolve().parents[2] / "server")
#: GitHub's documented test vector for X-Hub-Signature-256.
SECRET = "It's a Secret to Everybody"
VECTOR = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_the_signature_is_githubs_test_vector() -> None:
    assert github_signature(SECRET, b"Hello, World!") == VECTOR


@pytest.fixture
def receiver(tmp_path: Path, data_dir: Path) -> Iterator[tuple[str, Path, dict[str, object]]]:
    root = make_repo(tmp_path / "repo")
    base = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-b", "totals")
    write(root, "shop/cart.py", (root / "shop/cart.py").read_text() + "\n\n" + TOTAL)
    record_snippet(data_dir, TOTAL, "shop/cart.py")
    head = commit(root, "totals")
    line = line_of(root, head, "shop/cart.py", "discount = 0.1")
    payload = review_comment(7, 1, head, base, "shop/cart.py", line, "use Decimal")
    process = subprocess.Popen(
        [sys.executable, "-m", "ailoop", "review", "serve", "--port", "0", "--root", str(root),
         "--data-dir", str(data_dir), "--max-body", "200000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": SERVER, "AILOOP_WEBHOOK_SECRET": SECRET},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "receiving webhooks on http://127.0.0.1:" in first, (
            process.stderr.read() if process.stderr else ""
        )
        yield first.split("http://", 1)[1].strip().rstrip("/"), data_dir, payload
    finally:
        process.terminate()
        process.wait(timeout=10)


def post(address: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"http://{address}/", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_good_bad_and_missing_signatures(receiver: tuple[str, Path, dict[str, object]]) -> None:
    address, data_dir, payload = receiver
    # the test vector's signature is good: the body gets read (and is not JSON)
    status, answer = post(address, b"Hello, World!", {"X-Hub-Signature-256": VECTOR})
    assert status == 400
    assert "not valid JSON" in str(answer["error"])
    status, answer = post(address, b"Hello, World!", {"X-Hub-Signature-256": VECTOR[:-1] + "0"})
    assert (status, answer["error"]) == (401, "bad X-Hub-Signature-256")
    body = json.dumps(payload).encode()
    assert post(address, body, {"X-GitHub-Event": "pull_request_review_comment"})[0] == 401
    assert post(address, body, {"X-Gitlab-Token": "guess"})[0] == 401
    assert reviewed(data_dir) == []


def test_a_delivery_is_recorded_once(receiver: tuple[str, Path, dict[str, object]]) -> None:
    address, data_dir, payload = receiver
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": "pull_request_review_comment", "Content-Type": "application/json",
               "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
               "X-Hub-Signature-256": github_signature(SECRET, body)}  # fmt: skip
    status, answer = post(address, body, headers)
    assert (status, answer["status"], answer["matched"]) == (200, "recorded", 1)
    status, answer = post(address, body, headers)
    assert (status, answer["status"]) == (200, "duplicate")
    assert [e.snippet for e in reviewed(data_dir)] == [snippet_id(TOTAL)]
    # GitLab's token, compared in constant time, works too (the delivery is the same comment)
    status, answer = post(
        address, body, {"X-Gitlab-Token": SECRET, "X-GitHub-Event": "pull_request_review_comment"}
    )
    assert status == 200
    assert len(reviewed(data_dir)) == 1


def test_a_body_past_the_limit_is_refused_unread(
    receiver: tuple[str, Path, dict[str, object]],
) -> None:
    import http.client

    address, data_dir, _ = receiver
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:  # the headers announce 300 kB; the answer comes before any of it is sent
        connection.putrequest("POST", "/")
        connection.putheader("Content-Length", "300000")
        connection.putheader("X-Hub-Signature-256", VECTOR)
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        assert "larger than 200000 bytes" in json.loads(response.read())["error"]
    finally:
        connection.close()
    assert reviewed(data_dir) == []
