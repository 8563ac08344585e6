import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# The URLconf, and the views and schema code it imports, loaded as the worker starts: Django
# loads them on the first request otherwise, which then waits for it (most of a second).
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018
