"""A local HTTP receiver for the alert channels' tests and the panic-delivery bench: it
records every request it gets and answers from a script.

    with Receiver() as r:                      # ThreadingHTTPServer on 127.0.0.1, any port
        r.script(500, b"busy")                 # the next answer; then 200 {"errcode": 0}
        r.script(200, delay_s=1.0)             # one that takes a second
        send_to(f"{r.url}/hooks")
        [request] = r.wait_for(1)              # Received(method, path, headers, body, at)

``tests/channels/conftest.py`` gives it as the ``receiver`` fixture.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OK_BODY = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()


@dataclass(frozen=True)
class Received:
    method: str
    path: str  # with its query
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """A header by name, whatever its case."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


Answer = tuple[int, bytes, float]


class Receiver:
    """Records every request (``received``, ``requests``) and answers each from the script
    (``script(status, body, delay_s)``, or ``Receiver(script=[...])``), then with 200 and the
    robots' ``{"errcode": 0, "errmsg": "ok"}``."""

    def __init__(self, script: Iterable[tuple[int, bytes | dict[str, Any], float]] = ()) -> None:
        self.received: list[Received] = []
        self._answers: deque[Answer] = deque()
        self._lock = threading.Condition()
        for status, body, delay_s in script:
            self.script(status, body, delay_s)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Received(
                    self.command, self.path, dict(self.headers), body, time.monotonic()
                )
                status, answer, delay = receiver._record(request)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the client gave up (a timeout test)
                self.close_connection = True

            do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def _record(self, request: Received) -> Answer:
        with self._lock:
            self.received.append(request)
            self._lock.notify_all()
            return self._answers.popleft() if self._answers else (200, OK_BODY, 0.0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def requests(self) -> list[Received]:
        """A copy of what has arrived so far, in order."""
        with self._lock:
            return list(self.received)

    def script(
        self, status: int, body: bytes | dict[str, Any] = OK_BODY, delay_s: float = 0.0
    ) -> None:
        """Queue the next answer: ``status``, ``body`` (a dict is sent as JSON), after
        ``delay_s`` seconds."""
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        with self._lock:
            self._answers.append((status, data, delay_s))

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Every request once at least ``count`` have arrived; TimeoutError if they don't."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.received)} of {count} requests arrived")
                self._lock.wait(left)
            return list(self.received)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
