"""gunicorn in production: ``gunicorn -c config/gunicorn.py config.wsgi``.

Request limits are gunicorn's own, stated here so they are seen and tested: a request line
(method, path and query) of at most 4094 bytes, at most 100 header fields of at most 8190
bytes each; beyond them gunicorn answers 414 or 431 before Django sees the request. Bodies
are limited by Django (DATA_UPLOAD_MAX_MEMORY_SIZE, EVIDENCE_MAX_FILE_BYTES, TUS_MAX_SIZE).

gunicorn's access log writes each request line, query string included: its handlers mask ID
numbers, phone numbers, names and search terms like Django's (fieldvisit.privacy).
"""

from __future__ import annotations

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
