"""Celery for background jobs when a broker is configured (``CELERY_BROKER_URL`` or
``REDIS_URL``): ``celery -A config worker --beat``. Without one, the quick start runs the
same jobs in-process (see ``fieldvisit.scheduler``)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("fieldvisit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
