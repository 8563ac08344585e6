"""Request size limits over real HTTP, through gunicorn with the production configuration
(config/gunicorn.py): oversized headers and request lines stop at gunicorn (431, 414),
oversized bodies at Django with a 413 problem; nothing is a 500. gunicorn's access log masks
ID numbers, phone numbers, names and search terms in query strings."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.childserver import ROOT, free_port

ID = "31010119820101451X"


class Server:
    def __init__(self, port: int, log: Path) -> None:
        self.port, self.log = port, log

    def raw(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send ``request`` as is; the status, headers and body of the answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(request)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(lines[0].split()[1]), headers, body


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    state = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "STATE_DIR": str(state),
        "DATABASE_URL": f"sqlite:///{state / 'db.sqlite3'}",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = state / "gunicorn.log"
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [gunicorn, "-c", "config/gunicorn.py", "config.wsgi"],
            cwd=ROOT, env=env, stdout=sink, stderr=sink,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield Server(port, log)
    finally:
        process.terminate()
        process.wait(30)


def request(method: str, path: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_a_header_just_under_the_limit_reaches_django(server: Server) -> None:
    status, headers, body = server.raw(request("GET", "/api/v1/me/", [("X-Filler", "a" * 8000)]))

    assert status == 401
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Filler", "a" * 9000)],
        [("Authorization", "Token " + "k" * 9000)],
        [(f"X-Filler-{n}", "a") for n in range(120)],
    ],
    ids=["one-huge-header", "huge-token", "too-many-headers"],
)
def test_oversized_headers_stop_at_gunicorn_with_a_431(
    server: Server, headers: list[tuple[str, str]]
) -> None:
    status, _, _ = server.raw(request("GET", "/api/v1/me/", headers))

    assert status == 431  # Request Header Fields Too Large


def test_an_oversized_request_line_is_refused(server: Server) -> None:
    status, _, _ = server.raw(request("GET", "/api/v1/cases/?q=" + "a" * 5000, []))

    assert status == 414


def login_body(size: int) -> bytes:
    body = json.dumps({"username": "a", "password": "b", "device_id": "x" * size})
    return body.encode()


def test_an_oversized_json_body_is_a_413_problem(server: Server) -> None:
    body = login_body(2 * 1024 * 1024)
    status, headers, answer = server.raw(
        request(
            "POST",
            "/api/v1/auth/token/",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            body,
        )
    )

    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(answer)["code"] == "request_too_large"


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(
    server: Server,
) -> None:
    """A client announcing 1 GiB gets its answer at once, without sending any of it."""
    status, _, answer = server.raw(
        request(
            "POST",
            "/api/v1/auth/token/",
            [("Content-Type", "application/json"), ("Content-Length", str(1024**3))],
        )
    )

    assert status == 413
    assert json.loads(answer)["code"] == "request_too_large"


def test_a_chunked_body_is_never_a_500(server: Server) -> None:
    body = login_body(2 * 1024 * 1024)
    chunked = b"".join(
        f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        for piece in (body[i : i + 65536] for i in range(0, len(body), 65536))
    )
    status, headers, answer = server.raw(
        request(
            "POST",
            "/api/v1/auth/token/",
            [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")],
            chunked + b"0\r\n\r\n",
        )
    )

    assert 400 <= status < 500
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(answer)["status"] == status


def test_the_access_log_masks_id_numbers(server: Server) -> None:
    status, _, _ = server.raw(request("GET", f"/api/v1/cases/?q={ID}", []))
    assert status == 401

    line = "GET /api/v1/cases/?q=310***********451X HTTP/1.1"
    deadline = time.monotonic() + 20  # gunicorn logs the access after the answer is sent
    while line not in (written := server.log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert line in written, written
    assert ID not in written


def test_the_access_log_masks_phone_numbers_names_and_search_terms(server: Server) -> None:
    phone, name = "13812345678", "%E7%8E%8B%E5%BB%BA%E5%9B%BD"  # 王建国
    status, _, _ = server.raw(request("GET", f"/api/v1/cases/?q={phone}&name={name}", []))
    assert status == 401

    line = "GET /api/v1/cases/?q=138****5678&name=*** HTTP/1.1"
    deadline = time.monotonic() + 20
    while line not in (written := server.log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert line in written, written
    assert phone not in written and name not in written
