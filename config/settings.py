"""Settings for the field-visit evidence backend: one module, driven by environment variables.

Defaults run on one machine with nothing else installed: SQLite and files under ``var/``.
Production sets ``DJANGO_ENV=production``, ``DATABASE_URL`` (PostgreSQL), ``SECRET_KEY`` (or
``SECRET_KEY_FILE``), ``ALLOWED_HOSTS`` and ``REDIS_URL``; it refuses to start without a real
secret key or with ``DEBUG`` on, and turns on HTTPS-only cookies, HSTS and the SSL redirect
(``manage.py check --deploy`` is then clean). Every secret can come from a ``*_FILE``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_int,
    env_list,
    env_path,
    env_str,
    read_or_create_secret,
    weak_secret_key,
    with_password,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# Local state of a development machine (database, media). Ignored by git.
STATE_DIR = env_path("STATE_DIR", BASE_DIR / "var")
# Secrets generated on first run live outside the checkout, readable by the owner only.
SECRETS_DIR = env_path(
    "SECRETS_DIR",
    Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "fieldvisit",
)

# "production": no generated or weak secret, no DEBUG, explicit hosts, TLS-only defaults.
PRODUCTION = env_str("DJANGO_ENV", "development").strip().lower() == "production"
DEBUG = env_bool("DEBUG", False)
SECRET_KEY_GENERATED = not env_str("SECRET_KEY")  # fine on one machine; see fieldvisit.checks
if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off when DJANGO_ENV=production.")
    if weak_secret_key(env_str("SECRET_KEY")):
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs SECRET_KEY (or SECRET_KEY_FILE): "
            + weak_secret_key(env_str("SECRET_KEY"))
            + ". Make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    if not env_list("ALLOWED_HOSTS"):
        raise ImproperlyConfigured("DJANGO_ENV=production needs ALLOWED_HOSTS.")
SECRET_KEY = env_str("SECRET_KEY") or read_or_create_secret(SECRETS_DIR / "secret_key")
# Old keys still accepted for sessions and signatures while a new SECRET_KEY rolls out.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "fieldvisit.admin_site.FieldVisitAdminConfig",  # django.contrib.admin, sign-in guarded
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "fieldvisit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of each response: the browser's (Accept-Language), else LANGUAGE_CODE;
    # a signed-in user's profile language comes first (fieldvisit.texts, fieldvisit.sign_in).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "fieldvisit.zones.ZoneMiddleware",
    "fieldvisit.languages.LanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite file by default, anything dj-database-url understands otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        # The password may come on its own (DATABASE_PASSWORD or DATABASE_PASSWORD_FILE).
        with_password(
            env_str("DATABASE_URL") or f"sqlite:///{STATE_DIR / 'db.sqlite3'}",
            env_str("DATABASE_PASSWORD"),
        ),
        # Production keeps each worker thread's connection (and the statements prepared on
        # it) for a minute instead of connecting anew for every request.
        conn_max_age=env_int("CONN_MAX_AGE", 60 if PRODUCTION else 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take SQLite's write lock at BEGIN, which serializes ledger appends
    # (two writers can never read the same tree head); WAL lets readers go on meanwhile.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests on a file too (one per xdist worker): Django's default, a shared-cache in-memory
    # database, takes table locks instead, and two live-server requests appending to the
    # ledger at once could both read the same tree head.
    DATABASES["default"]["TEST"] = {"NAME": str(STATE_DIR / "test.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Statements sent through fieldvisit.db.rows.cursor() (the hot paths' plain SQL) are
    # prepared on first use; Django's own cursors bind on the client and are never prepared.
    # Behind PgBouncer in transaction mode, use 1.21 or newer with max_prepared_statements.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS_URL = env_str("REDIS_URL")
# A Redis that hangs costs a request one short timeout (fieldvisit.api.throttling).
CACHE_TIMEOUT_S = float(env_str("CACHE_TIMEOUT_S", "0.5"))
if REDIS_URL:
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": CACHE_TIMEOUT_S, "socket_timeout": CACHE_TIMEOUT_S},
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Simplified Chinese and English everywhere a person reads (locale/). LANGUAGE_CODE is the
# language when the browser names neither, and the one records are written in (alerts, ledger
# entries: fieldvisit.texts.for_records).
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
# Dates and times on admin pages: ISO order, seconds, the zone named (config/formats).
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
STATIC_ROOT = env_path("STATIC_ROOT", STATE_DIR / "static")
# Admin maps (Leaflet, from our static files). A tile server is optional: empty draws the
# points on a plain background, so no visit position leaves for a third party by default.
# e.g. MAP_TILE_URL=https://tile.openstreetmap.org/{z}/{x}/{y}.png
MAP_TILE_URL = env_str("MAP_TILE_URL")
MAP_TILE_ATTRIBUTION = env_str("MAP_TILE_ATTRIBUTION")
# The datum the tile server draws in: wgs84 (OpenStreetMap and most), gcj02 (AMap/高德,
# Tencent), bd09 (Baidu). Positions are converted to it just before drawing.
MAP_TILE_DATUM = env_str("MAP_TILE_DATUM") or "wgs84"
# The operations dashboard polls its JSON feed this often (seconds).
OPERATIONS_REFRESH_S = env_int("OPERATIONS_REFRESH_S", 5)
# The field app cuts the visit's recording into segments this long (each a playable file,
# hashed and uploaded on its own; API.md "Audio recording").
FIELDAPP_SEGMENT_SECONDS = env_int("FIELDAPP_SEGMENT_SECONDS", 60)
# ... and uploads them in tus PATCHes of at most this many bytes: a dropped connection loses
# at most one, and a minute of audio (about 250 KB) goes in one or two.
FIELDAPP_UPLOAD_CHUNK_BYTES = env_int("FIELDAPP_UPLOAD_CHUNK_BYTES", 256 * 1024)
MEDIA_URL = "media/"
MEDIA_ROOT = env_path("MEDIA_ROOT", STATE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Evidence: content-addressed, never overwritten (fieldvisit.evidence.storage). Local files by
# default; an S3-compatible bucket (with Object Lock retention if the bucket has it) when
# EVIDENCE_S3_BUCKET is set. Credentials come from the environment (AWS_ACCESS_KEY_ID, ...).
EVIDENCE_ROOT = env_path("EVIDENCE_ROOT", STATE_DIR / "evidence")
EVIDENCE_S3_BUCKET = env_str("EVIDENCE_S3_BUCKET")
if EVIDENCE_S3_BUCKET:
    STORAGES["evidence"] = {
        "BACKEND": "fieldvisit.evidence.storage.EvidenceS3Storage",
        "OPTIONS": {
            "bucket_name": EVIDENCE_S3_BUCKET,
            "endpoint_url": env_str("EVIDENCE_S3_ENDPOINT_URL") or None,
            "region_name": env_str("EVIDENCE_S3_REGION") or None,
            "location": env_str("EVIDENCE_S3_PREFIX"),
            "object_lock_days": env_int("EVIDENCE_OBJECT_LOCK_DAYS", 0),
            "object_lock_mode": env_str("EVIDENCE_OBJECT_LOCK_MODE", "COMPLIANCE"),
            # A bucket that errs or hangs costs an upload seconds, not minutes (then 503).
            "connect_timeout_s": float(env_str("EVIDENCE_S3_CONNECT_TIMEOUT_S", "5")),
            "read_timeout_s": float(env_str("EVIDENCE_S3_READ_TIMEOUT_S", "15")),
            "max_attempts": env_int("EVIDENCE_S3_MAX_ATTEMPTS", 3),
        },
    }
    # Keys from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or their *_FILE; unset, boto3 looks
    # them up itself (instance role, ~/.aws).
    for option, name in (
        ("access_key", "AWS_ACCESS_KEY_ID"),
        ("secret_key", "AWS_SECRET_ACCESS_KEY"),
    ):
        if env_str(name):
            STORAGES["evidence"]["OPTIONS"][option] = env_str(name)
else:
    STORAGES["evidence"] = {
        "BACKEND": "fieldvisit.evidence.storage.EvidenceFileSystemStorage",
        "OPTIONS": {
            "location": EVIDENCE_ROOT,
            "base_url": None,
            "file_permissions_mode": 0o440,
            "directory_permissions_mode": 0o750,
        },
    }
# Largest photo or receipt file accepted (413 file_too_large beyond).
EVIDENCE_MAX_FILE_BYTES = env_int("EVIDENCE_MAX_FILE_BYTES", 256 * 1024 * 1024)
# Memory all image decodes of one server process may hold at once (a 200 MP photo needs about
# 0.9 GB); the worst case of a server is workers x this.
IMAGE_DECODE_MEMORY_BYTES = env_int("IMAGE_DECODE_MEMORY_BYTES", 1_250_000_000)
FILE_UPLOAD_TEMP_DIR = env_str("FILE_UPLOAD_TEMP_DIR") or None
# tus uploads in progress live here until complete: a directory every app server shares.
TUS_UPLOAD_DIR = env_path("TUS_UPLOAD_DIR", STATE_DIR / "uploads")
TUS_MAX_SIZE = env_int("TUS_MAX_SIZE", 2 * 1024 * 1024 * 1024)
TUS_EXPIRES_AFTER_HOURS = env_int("TUS_EXPIRES_AFTER_HOURS", 72)

# Without collectstatic (tests, quick start) WhiteNoise serves straight from the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Request limits: JSON bodies stay small; files come through dedicated upload paths.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# Security. Production runs behind TLS (defaults on with DJANGO_ENV=production, each one can
# still be set); the quick start does not.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
# The TLS proxy in front must set (overwrite) X-Forwarded-Proto; then a request it forwarded
# over HTTPS counts as secure and the SSL redirect does not loop.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", PRODUCTION) else None
)

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "fieldvisit@localhost")
# Where people open the links in messages (an alert's one-tap acknowledgement).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

# Alerts: sent right after they are raised (``fieldvisit.actions.deliveries.dispatch``) on a
# Celery worker when there is a broker, else on the server's own threads; the
# ``deliver_alerts`` job sends whatever is still due. A non-panic alert with no route waits
# this long for an acknowledgement before the next person on the chain is told.
ALERT_DISPATCH = env_str(
    "ALERT_DISPATCH", "celery" if env_str("CELERY_BROKER_URL") or REDIS_URL else "thread"
)
ALERT_STEP_EVERY_MIN = env_int("ALERT_STEP_EVERY_MIN", 10)
# Alert channels besides e-mail (fieldvisit.channels): each is on once its URL is set.
ALERT_SMS_URL = env_str("ALERT_SMS_URL", "")
ALERT_SMS_TOKEN = env_str("ALERT_SMS_TOKEN", "")
ALERT_SMS_SENDER = env_str("ALERT_SMS_SENDER", "fieldvisit")
ALERT_DINGTALK_URL = env_str("ALERT_DINGTALK_URL", "")
ALERT_DINGTALK_SECRET = env_str("ALERT_DINGTALK_SECRET", "")
ALERT_WECOM_URL = env_str("ALERT_WECOM_URL", "")
ALERT_WEBHOOK_URL = env_str("ALERT_WEBHOOK_URL", "")
ALERT_WEBHOOK_SECRET = env_str("ALERT_WEBHOOK_SECRET", "")
ALERT_CHANNEL_TIMEOUT_S = env_int("ALERT_CHANNEL_TIMEOUT_S", 5)
# Which channels each severity uses (comma-separated names); by default every configured one
# for critical and high alerts, e-mail and the group robots for medium ones, e-mail for low.
_CHANNELS_ON = ["email"] + [
    name
    for name, url in (
        ("sms", ALERT_SMS_URL),
        ("dingtalk", ALERT_DINGTALK_URL),
        ("wecom", ALERT_WECOM_URL),
        ("webhook", ALERT_WEBHOOK_URL),
    )
    if url
]
ALERT_SEVERITY_CHANNELS = {
    "critical": env_list("ALERT_CHANNELS_CRITICAL", ",".join(_CHANNELS_ON)),
    "high": env_list("ALERT_CHANNELS_HIGH", ",".join(_CHANNELS_ON)),
    "medium": env_list(
        "ALERT_CHANNELS_MEDIUM",
        ",".join(c for c in _CHANNELS_ON if c in ("email", "dingtalk", "wecom")),
    ),
    "low": env_list("ALERT_CHANNELS_LOW", "email"),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["fieldvisit.api.authentication.DeviceTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["fieldvisit.api.parsers.LimitedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "fieldvisit.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "fieldvisit.api.errors.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Rates per scope (fieldvisit.api.throttling); 429 "throttled" with Retry-After beyond.
    # A busy agent makes a few requests a second at most (a tus chunk, a check-in, a photo):
    # the defaults leave a wide margin, the sign-in limit allows a whole office behind one
    # address signing in at once, and the failed sign-ins have their own limit (sign_in).
    "DEFAULT_THROTTLE_CLASSES": [
        "fieldvisit.api.throttling.AnonThrottle",
        "fieldvisit.api.throttling.UserThrottle",
        "fieldvisit.api.throttling.WriteThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON", "120/min"),  # per address, unauthenticated
        "user": env_str("THROTTLE_USER", "6000/min"),  # per user, every request
        "write": env_str("THROTTLE_WRITE", "1200/min"),  # per device token, writes only
        # per address, the public complaint form's posts
        "complaint": env_str("THROTTLE_COMPLAINT", "20/hour"),
        "login": env_str("THROTTLE_LOGIN", "300/min"),  # per address, sign-in attempts
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Client addresses for throttling: X-Forwarded-For is trusted only through this many
    # proxies of our own (0: never, so a client cannot pick its own address).
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Field-visit evidence API",
    "DESCRIPTION": (
        "The API the field agents' phones and the legal clients use. Errors are RFC 9457 "
        "problem details (`application/problem+json`) with a stable `code`.\n\n"
        "Languages: send `Accept-Language` (`zh-Hans`, `zh-CN` or `en`); a problem's `title`, "
        "`detail` and field messages come in that language (a signed-in person's own choice "
        "of language goes first), and `Content-Language` says which. `code`, `type`, enum "
        "values and every other field never change with the language. Positions are WGS-84; "
        "a check-in from a Chinese map SDK may give `datum` (`gcj02`, `bd09`)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "RouteStatusEnum": "fieldvisit.choices.RouteStatus",
        "CaseStatusEnum": "fieldvisit.choices.CaseStatus",
        "StopStatusEnum": "fieldvisit.choices.StopStatus",
        "VisitStatusEnum": "fieldvisit.choices.VisitStatus",
        "ChangeRequestStatusEnum": "fieldvisit.choices.ChangeRequestStatus",
        "ChangeRequestKindEnum": "fieldvisit.choices.ChangeRequestKind",
        "AlertStatusEnum": "fieldvisit.choices.AlertStatus",
        "PhotoKindEnum": "fieldvisit.choices.PhotoKind",
        "CheckInKindEnum": "fieldvisit.choices.CheckInKind",
        "AlertKindEnum": "fieldvisit.choices.AlertKind",
        "ReceiptOutcomeEnum": "fieldvisit.choices.ReceiptOutcome",
        "ReportOutcomeEnum": "fieldvisit.choices.ReportOutcome",
        "ReportStatusEnum": "fieldvisit.choices.ReportStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "fieldvisit.api.schema.name_enum_values",
        "fieldvisit.api.schema.problems_per_operation",
    ],
    # HEAD and OPTIONS described where a view documents them (the tus uploads).
    "DEFAULT_GENERATOR_CLASS": "fieldvisit.api.schema.SchemaGenerator",
}

# Background jobs. With a broker (Redis), Celery workers and beat run them; without one, the
# quick start runs the same schedule in-process (fieldvisit.scheduler).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = env_bool(
    "CELERY_TASK_ALWAYS_EAGER", not (env_str("CELERY_BROKER_URL") or REDIS_URL)
)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# Keys are job names in fieldvisit.jobs; "schedule" in seconds.
CELERY_BEAT_SCHEDULE = {
    "watchdog": {"task": "fieldvisit.watchdog", "schedule": env_int("WATCHDOG_EVERY_S", 60)},
    "lone_departs": {
        "task": "fieldvisit.lone_departs",
        "schedule": env_int("WATCHDOG_EVERY_S", 60),
    },
    "day_close": {"task": "fieldvisit.day_close", "schedule": env_int("DAY_CLOSE_EVERY_S", 300)},
    "expiring_papers": {
        "task": "fieldvisit.expiring_papers",
        "schedule": env_int("EXPIRING_PAPERS_EVERY_S", 3600),
    },
    "deliver_alerts": {
        "task": "fieldvisit.deliver_alerts",
        "schedule": env_int("DELIVER_ALERTS_EVERY_S", 5),
    },
    "escalate_alerts": {
        "task": "fieldvisit.escalate_alerts",
        "schedule": env_int("ESCALATE_ALERTS_EVERY_S", 15),
    },
    "checkpoint": {"task": "fieldvisit.checkpoint", "schedule": env_int("CHECKPOINT_EVERY_S", 300)},
    "expire_uploads": {
        "task": "fieldvisit.expire_uploads",
        "schedule": env_int("EXPIRE_UPLOADS_EVERY_S", 3600),
    },
    "sweep_evidence": {
        "task": "fieldvisit.sweep_evidence",
        "schedule": env_int("SWEEP_EVIDENCE_EVERY_S", 3600),
    },
    "timestamp_checkpoints": {
        "task": "fieldvisit.timestamp_checkpoints",
        "schedule": env_int("TIMESTAMP_EVERY_S", 60),
    },
}

# Failed sign-ins (API token and admin form, fieldvisit.sign_in) within the window
# before sign-in answers 429: per username at one address; per username everywhere and per
# address for every username (an office of 200 behind one NAT may each mistype once). The
# last two spare a username at an address where it signed in within LOGIN_KNOWN_ADDRESS_S.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_USERNAME_FAILURE_LIMIT = env_int("LOGIN_USERNAME_FAILURE_LIMIT", 20)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 200)
LOGIN_FAILURE_WINDOW_S = env_int("LOGIN_FAILURE_WINDOW_S", 15 * 60)
LOGIN_KNOWN_ADDRESS_S = env_int("LOGIN_KNOWN_ADDRESS_S", 30 * 24 * 3600)

# The evidence ledger's Ed25519 signing key: a private file outside the repository,
# created (mode 0600) on first use when missing.
LEDGER_SIGNING_KEY_FILE = env_path("LEDGER_SIGNING_KEY_FILE", SECRETS_DIR / "ledger-ed25519.pem")
# The C2SP tlog-checkpoint origin line and signer name of this log: set it to a name of the
# company's own in production (check --deploy refuses the placeholder, fieldvisit.E015).
LEDGER_ORIGIN = env_str("LEDGER_ORIGIN", "fieldvisit.example/ledger")
# RFC 3161 time-stamps of checkpoints from an outside authority (empty URL: off). The
# authority's CA certificate(s), PEM, are what tokens are checked against and what bundles
# carry; requests run in the background jobs, never inside an append, with this timeout.
LEDGER_TSA_URL = env_str("LEDGER_TSA_URL")
LEDGER_TSA_CA_FILE = env_str("LEDGER_TSA_CA_FILE")
# More authorities, each stamping every checkpoint too: "URL CA_FILE" pairs separated by ";".
LEDGER_TSA_MORE = env_str("LEDGER_TSA_MORE")
LEDGER_TSA_TIMEOUT_S = float(env_str("LEDGER_TSA_TIMEOUT_S", "5"))
# How long after a checkpoint's own time the authority's may be: a later stamp may mean the
# checkpoint was back-dated (verify_ledger and verify.py --tsa-window refuse it).
LEDGER_TSA_WINDOW_S = env_int("LEDGER_TSA_WINDOW_S", 3600)
# C2SP tlog-witnesses asked to cosign each checkpoint (fieldvisit.ledger.witnessing): a list
# of {"name", "url", "key"} (key: the witness's cosignature verifier key, url: its submission
# prefix), from "URL KEY" pairs separated by ";"; and how many must cosign (k of n, 0: none).
LEDGER_WITNESSES = [
    {"name": pair[-1].split("+", 1)[0], "url": pair[0], "key": pair[-1]}
    for pair in (p.split() for p in env_str("LEDGER_WITNESSES").split(";"))
    if pair
]
LEDGER_WITNESS_POLICY = env_int("LEDGER_WITNESS_POLICY", 0)

# Every handler masks ID numbers, phone numbers, Chinese text (names, addresses) and query
# values that may be search terms (fieldvisit.privacy), whoever logs them: a 404's path, the
# development server's request line with its query string, a traceback. Django's own "django"
# logger handlers are replaced, so nothing reaches a handler without the filter.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_personal_data": {"()": "fieldvisit.privacy.MaskPersonalData"},
        "one_line_refusals": {"()": "fieldvisit.log_filters.OneLineRefusals"},
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["one_line_refusals", "mask_personal_data"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["mask_personal_data"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "INFO"},
    },
}

STATE_DIR.mkdir(parents=True, exist_ok=True)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
