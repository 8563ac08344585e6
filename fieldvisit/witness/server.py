"""The witness over HTTP (standard library): ``POST /add-checkpoint`` and the monitoring
``GET /<hex SHA-256 of the origin>/checkpoint`` (https://c2sp.org/tlog-witness).

Each connection has its own thread and a read timeout; a body must state its length and stay
below ``MAX_BODY`` bytes; whatever a request holds, it gets an answer and the server carries
on (an unexpected error is a 500 and a log line, never a dead server).
"""

from __future__ import annotations

import logging
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fieldvisit.witness.service import Reply, Witness

logger = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
"""63 proof lines and a checkpoint with a few dozen signatures fit many times over."""

READ_TIMEOUT_S = 10

_CHECKPOINT_PATH = re.compile(r"/([0-9a-f]{64})/checkpoint\Z")
_LENGTH = re.compile(r"[0-9]{1,12}\Z")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the spec recommends
    timeout = READ_TIMEOUT_S
    server: WitnessServer
    _allow = ""

    def version_string(self) -> str:
        return "fieldvisit-witness"

    def do_POST(self) -> None:
        self._answer(self._post)

    def do_GET(self) -> None:
        self._answer(self._get)

    def do_PUT(self) -> None:
        self._answer(lambda: self._not_allowed("POST"))

    do_DELETE = do_PATCH = do_PUT

    def _answer(self, handle) -> None:  # type: ignore[no-untyped-def]
        self._allow = ""
        try:
            reply = handle()
        except Exception:  # a bad request must never take the witness down
            logger.exception("witness request failed")
            self.close_connection = True
            reply = Reply.text(500, "internal error")
        self._send(reply)

    def _post(self) -> Reply:
        if self.path != "/add-checkpoint":
            self._drain()
            return Reply.text(404, "not found")
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or length is None or not _LENGTH.match(length):
            self.close_connection = True
            return Reply.text(400, "a body with a Content-Length is required")
        size = int(length)
        if size > MAX_BODY:
            self.close_connection = True
            return Reply.text(413, "request body too large")
        body = self.rfile.read(size)
        if len(body) != size:
            self.close_connection = True
            return Reply.text(400, "the body is shorter than its Content-Length")
        return self.server.witness.add_checkpoint(body)

    def _get(self) -> Reply:
        match = _CHECKPOINT_PATH.match(self.path)
        if match:
            return self.server.witness.latest_checkpoint(match.group(1))
        if self.path == "/add-checkpoint":
            return self._not_allowed("POST")
        return Reply.text(404, "not found")

    def _not_allowed(self, allowed: str) -> Reply:
        self._drain()
        self._allow = allowed
        return Reply.text(405, "method not allowed")

    def _drain(self) -> None:
        """Read (and drop) a small body, so the connection can serve the next request."""
        length = self.headers.get("Content-Length", "0")
        if _LENGTH.match(length) and int(length) <= MAX_BODY:
            self.rfile.read(int(length))
        else:
            self.close_connection = True

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status, HTTPStatus(reply.status).phrase)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            if self._allow:
                self.send_header("Allow", self._allow)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            self.close_connection = True  # the client went away

    def log_message(self, format: str, *args: object) -> None:
        logger.info("%s %s", self.address_string(), format % args)


class WitnessServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], witness: Witness) -> None:
        self.witness = witness
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start_in_thread(self) -> threading.Thread:
        """Serve on a daemon thread (tests, and embedding); ``stop`` ends it."""
        thread = threading.Thread(target=self.serve_forever, name="witness", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
