"""A real RFC 3161 time-stamp authority on loopback, made with ``openssl ts``.

A CA, and a TSA certificate it issues with the critical ``timeStamping`` extended key usage;
an ``openssl ts -reply`` configuration; and an http.server on 127.0.0.1 that answers
``application/timestamp-query`` POSTs with ``openssl ts -reply``. ``mode`` makes it fail
(``error``: HTTP 500) or answer late (``slow``); ``down_url`` is a port nobody listens on.
A second, unrelated CA (``other_ca``) is the wrong authority certificate.

The token carries the TSA certificate only (no ``certs =`` chain): rfc3161-client parses
SignedData strictly as DER, and ``openssl ts -reply`` does not sort a multi-certificate SET.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

TS_CONFIG = """\
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {dir}
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def make_ca(folder: Path, name: str) -> None:
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
        "-keyout", f"{name}.key", "-out", f"{name}.crt", "-subj", f"/CN={name} test root CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )  # fmt: skip


def make_tsa(folder: Path) -> None:
    make_ca(folder, "ca")
    make_ca(folder, "other_ca")
    (folder / "tsa.ext").write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,nonRepudiation\n"
        "extendedKeyUsage=critical,timeStamping\n"
    )
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
        "-subj", "/CN=Test time-stamp authority",
        cwd=folder,
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "3650", "-extfile", "tsa.ext", "-out", "tsa.crt",
        cwd=folder,
    )  # fmt: skip
    (folder / "tsaserial").write_text("01\n")
    (folder / "ts.cnf").write_text(TS_CONFIG.format(dir=folder))


@dataclass
class Authority:
    folder: Path
    url: str = ""
    down_url: str = ""
    mode: str = "ok"  # ok | error | slow
    delay: float = 2.0
    requests: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def other_ca_file(self) -> Path:
        return self.folder / "other_ca.crt"

    def reply(self, query: bytes) -> bytes:
        with self.lock, tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            (work / "q.tsq").write_bytes(query)
            openssl(
                "ts", "-reply", "-config", str(self.folder / "ts.cnf"),
                "-queryfile", "q.tsq", "-out", "r.tsr",
                cwd=work,
            )  # fmt: skip
            return (work / "r.tsr").read_bytes()

    def use(self, settings: Any, ca_file: Path | None = None, timeout: float = 1.0) -> None:
        settings.LEDGER_TSA_URL = self.url
        settings.LEDGER_TSA_CA_FILE = str(ca_file or self.ca_file)
        settings.LEDGER_TSA_TIMEOUT_S = timeout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[Authority]:
    """An authority made in ``folder``, answering on a port of its own until the end."""
    make_tsa(folder)
    tsa = Authority(folder)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            query = self.rfile.read(length)
            tsa.requests.append(query)
            if tsa.mode == "error" or self.headers.get("Content-Type") != (
                "application/timestamp-query"
            ):
                self.send_error(500)
                return
            if tsa.mode == "slow":
                time.sleep(tsa.delay)
            try:
                body = tsa.reply(query)
            except AssertionError:
                self.send_error(400)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up (slow mode)
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tsa.url = f"http://127.0.0.1:{server.server_address[1]}/tsr"
    tsa.down_url = f"http://127.0.0.1:{free_port()}/tsr"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tsa
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Authority]:
    with serving(tmp_path_factory.mktemp("tsa")) as tsa:
        yield tsa


@pytest.fixture(scope="session")
def second_authority(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Authority]:
    """Another, independent authority (its own CA), for deployments that ask two."""
    with serving(tmp_path_factory.mktemp("tsa2")) as tsa:
        yield tsa


@pytest.fixture
def tsa(authority: Authority, settings: Any) -> Iterator[Authority]:
    """The authority, configured as the ledger's, answering normally."""
    authority.mode = "ok"
    authority.requests.clear()
    authority.use(settings)
    yield authority
    authority.mode = "ok"
