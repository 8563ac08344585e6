"""gunicorn in production: ``gunicorn -c config/gunicorn.py config.wsgi``.

Request limits are gunicorn's own, stated here so they are seen and tested: a request line
(method, path and query) of at most 4094 bytes, at most 100 header fields of at most 8190
bytes each; beyond them gunicorn answers 414 or 431 before Django sees the request. Bodies
are limited by Django (DATA_UPLOAD_MAX_MEMORY_SIZE, EVIDENCE_MAX_FILE_BYTES, TUS_MAX_SIZE).

gunicorn's access log writes each request line, query string included: its handlers mask ID
numbers, phone numbers, names and search terms like Django's (fieldvisit.privacy).

The workers' allocator keeps the buffers of a body being received (``keep_body_buffers``).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
from typing import Any

from gunicorn.glogging import Logger

from fieldvisit.privacy import MaskPersonalData

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# Uploads from phones on poor networks are slow: a request may take this long.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 120))
graceful_timeout = 30

limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# Only our own proxy may say a request came over HTTPS (settings.SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 4 * 1024 * 1024
TRIM_THRESHOLD = 16 * 1024 * 1024


def keep_body_buffers() -> bool:
    """Let glibc's malloc reuse the megabyte buffers a request body passes through.

    A photo passes through gunicorn's and Django's readers in 1 MiB chunks, each copied a few
    times into new buffers. glibc gives a buffer that large pages of its own (mmap) or, once
    it has raised its own threshold, takes it from a heap that it trims again as soon as more
    than twice that is free, so the next buffer's pages are new too: each page faults in.
    Measured for a 20 MB photo on the body's path alone (gunicorn's reader over a socket,
    Django's parser, the upload handler): 8,700-12,000 faults and 58-75 ms of CPU, none and
    43-49 ms with these settings; through this configuration's worker (bench/photos.py's
    server), 130-3,800 faults a photo before (as glibc's own threshold happens to stand),
    11-20 after. Blocks under ``MMAP_THRESHOLD`` come from the heap, which keeps up to
    ``TRIM_THRESHOLD`` free before giving memory back. Called in the master before it forks, so
    every worker has it; left to the environment when it sets glibc's own variables
    (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``), and a no-op where the C library
    is not glibc. Returns whether it applied.
    """
    if any(name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


keep_body_buffers()

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"


class MaskingLogger(Logger):
    """gunicorn's logger, with personal data masked on every handler it sets up."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, MaskPersonalData) for f in handler.filters):
                    handler.addFilter(MaskPersonalData())


logger_class = MaskingLogger
