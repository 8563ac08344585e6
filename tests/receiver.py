"""A local HTTP receiver for the alert channels' tests and the panic-delivery bench: it
records every request it gets and answers from a script."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
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


class Receiver:
    """``with Receiver() as r: ...``; ``r.url``; ``r.script(status, body, delay_s)`` queues
    the next answers (then 200 with the robots' ``{"errcode": 0}``); ``r.wait_for(n)``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._answers: deque[tuple[int, bytes, float]] = deque()
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        Received("POST", self.path, dict(self.headers), body, time.monotonic())
                    )
                    receiver._lock.notify_all()
                    status, answer, delay = (
                        receiver._answers.popleft() if receiver._answers else (200, OK_BODY, 0.0)
                    )
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def script(
        self, status: int, body: bytes | dict[str, Any] = OK_BODY, delay_s: float = 0.0
    ) -> None:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        with self._lock:
            self._answers.append((status, data, delay_s))

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.received)} of {count} requests arrived")
                self._lock.wait(left)
            return list(self.received)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
