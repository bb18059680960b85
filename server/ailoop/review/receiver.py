"""``ailoop review serve``: a small webhook receiver (standard library only).

Every request is authenticated before its body is parsed: GitHub's ``X-Hub-Signature-256``
(``sha256=`` + HMAC-SHA256 of the raw body with the shared secret) or GitLab's
``X-Gitlab-Token`` (the secret itself), each compared in constant time
(:func:`hmac.compare_digest`); a missing or bad one is answered 401 and nothing is read
further. The body is bounded (``Content-Length`` required, 413 past the limit), deliveries
are de-duplicated by ``X-GitHub-Delivery`` / ``X-Gitlab-Event-UUID`` (else a hash of the
payload), and the server binds 127.0.0.1 unless told otherwise: put it behind the team's
TLS proxy to reach it from GitHub. Requests are handled one at a time, each with a
socket timeout, so the store has a single writer.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from ailoop.review.payloads import MAX_BYTES, Delivery, PayloadError, load
from ailoop.text import clean

logger = logging.getLogger(__name__)

#: Default bound of a request body (GitHub's own limit on payloads is 25 MB).
DEFAULT_MAX_BODY = MAX_BYTES
#: Seconds a client has to send its request.
REQUEST_TIMEOUT = 10.0


def github_signature(secret: str, body: bytes) -> str:
    """Return the ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def authentic(headers: Any, body: bytes, secret: str) -> str | None:
    """Return why a request is not authentic (None: it is), by GitHub's or GitLab's rule."""
    signature = headers.get("X-Hub-Signature-256")
    token = headers.get("X-Gitlab-Token")
    if signature is not None:
        expected = github_signature(secret, body)
        if hmac.compare_digest(signature.strip().encode(), expected.encode()):
            return None
        return "bad X-Hub-Signature-256"
    if token is not None:
        if hmac.compare_digest(token.encode(), secret.encode()):
            return None
        return "bad X-Gitlab-Token"
    return "no X-Hub-Signature-256 or X-Gitlab-Token"


#: What handles an authentic delivery: returns (HTTP status, JSON answer).
Handler = Callable[[Delivery], tuple[int, dict[str, Any]]]


def make_server(
    handle: Handler,
    secret: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    max_body: int = DEFAULT_MAX_BODY,
) -> http.server.HTTPServer:
    """Return a server (not started) that authenticates, bounds and passes on deliveries."""
    if not secret:
        raise ValueError("a webhook receiver needs a secret")
    lock = threading.Lock()

    class Receiver(http.server.BaseHTTPRequestHandler):
        server_version = "ailoop-review"
        sys_version = ""
        timeout = REQUEST_TIMEOUT

        def log_message(self, format: str, *args: Any) -> None:
            logger.info("%s %s", self.address_string(), clean(format % args, 300))

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer(405, {"error": "POST webhook deliveries here"})

        def do_POST(self) -> None:
            length_text = self.headers.get("Content-Length")
            if length_text is None or not length_text.strip().isdigit():
                self.close_connection = True
                self._answer(411, {"error": "Content-Length is required"})
                return
            length = int(length_text)
            if length > max_body:
                self.close_connection = True
                self._answer(413, {"error": f"the body is larger than {max_body} bytes"})
                return
            body = self.rfile.read(length)
            if len(body) < length:
                self._answer(400, {"error": "the body ended early"})
                return
            problem = authentic(self.headers, body, secret)
            if problem is not None:
                self._answer(401, {"error": problem})
                return
            headers = dict(self.headers.items())
            try:
                delivery = load(body, headers=headers)
            except PayloadError as exc:
                self._answer(400, {"error": f"the payload {exc}"})
                return
            with lock:
                status, answer = handle(delivery)
            self._answer(status, answer)

    return http.server.HTTPServer((host, port), Receiver)
