"""certadmin settings: one module, driven by the environment.

Nothing exists only in production: every difference is an environment variable with a
default that suits a laptop (SQLite, the django-q2 ORM broker, console email).
"""

import os
from datetime import UTC, datetime
from pathlib import Path

import certifi
import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Generic annotations such as `admin.ModelAdmin[Certificate]` work at run time (as healthchecks).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime state of the embedded default (SQLite file, generated KEK): never committed.
VAR_DIR = Path(os.environ.get("CERTADMIN_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value not in ("True", "False"):
        raise ImproperlyConfigured(f"{name} must be 'True' or 'False', not {value!r}")
    return value == "True"


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# Development mode (`make run`, the tests): DEBUG or CERTADMIN_INSECURE_DEV. Everything else is
# production: a secret key and a key-encryption key must be configured, never made up.
DEV_MODE = DEBUG or env_bool("CERTADMIN_INSECURE_DEV", False)
# Production sets SECRET_KEY; the fallback only serves `make run` and the tests.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEV_MODE:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=True / CERTADMIN_INSECURE_DEV=True).")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "orgs.admin_site.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",  # its widget templates, for FORM_RENDERER below
    "guardian",
    "axes",
    "django_q",
    "orgs",
    "keys",
    "certadmin",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Drops client-certificate headers that did not come from a trusted proxy (docs/mtls.md).
    "certadmin.mtls.ClientCertificateMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Absolute URLs built while answering start with the request's host (orgs.links).
    "orgs.links.RequestBaseUrlMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Nothing is ever granted to anonymous visitors, so django-guardian's "AnonymousUser" row (which
# showed in the admin's user lists) is not made; orgs migration 0005 removes an existing one.
ANONYMOUS_USER_NAME = None

ROOT_URLCONF = "certadmin.urls"
WSGI_APPLICATION = "certadmin.wsgi.application"

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
                "orgs.context_processors.setup",
            ],
            # |when, |day, |expiry: the one date format of every page (orgs.clock).
            "builtins": ["orgs.templatetags.clock"],
        },
    },
]

# Forms render through the project's templates, so templates/django/forms/field.html (help
# text escaped, whatever its source) overrides Django's own.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _sqlite_file = Path(DATABASES["default"]["NAME"])
    if DATABASES["default"]["NAME"] != ":memory:":
        # The database file is readable by its owner only, like the KEK file: SQLite then
        # creates its -wal and -shm files with the same mode.
        _sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(_sqlite_file, os.O_RDWR | os.O_CREAT, 0o600))
        if _sqlite_file.stat().st_mode & 0o077:
            _sqlite_file.chmod(0o600)
    # WAL lets the web server and the qcluster read while the other writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Connections persist across requests here too (CONN_MAX_AGE above): opening one and
    # running the PRAGMAs cost ~2.5 ms a request, as much as a list page's main query.

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

Q_CLUSTER: dict[str, object] = {
    "name": "certadmin",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": 600,
    "retry": 900,
    "max_attempts": 3,
    "catch_up": False,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: five failed logins for one username from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# Behind nginx every TCP peer is the proxy: axes asks orgs.proxies for the client's address,
# read from X-Forwarded-For only when the peer is one of CERTADMIN_TRUSTED_PROXIES (README).
AXES_CLIENT_IP_CALLABLE = "orgs.proxies.client_address"
# Addresses or networks of the reverse proxies directly in front of the app (comma-separated).
# Empty: none, so X-Forwarded-For is never believed and the TCP peer is the client.
CERTADMIN_TRUSTED_PROXIES = env_list("CERTADMIN_TRUSTED_PROXIES", "")

LANGUAGE_CODE = "en-us"
# Dates Django formats itself ({{ moment }}, the admin) in the one format of orgs.clock.
FORMAT_MODULE_PATH = ["certadmin.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files whitenoise serves at the site's root: /favicon.ico, which browsers ask for on pages
# that do not link an icon (the Django admin's, a download's).
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Email: console in development; SMTP when EMAIL_HOST is set.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "certadmin <noreply@localhost>")
# Absolute links in emails (notifications) start with this when it is set; otherwise with the
# scheme and host the org's pages were last served on (orgs.links.base_url). Pages always
# build their links from the host the user used.
SITE_URL = os.environ.get("SITE_URL", "").rstrip("/")
# SAML configurations still signing with the retired default proxy certificate log users in
# until this moment (ISO 8601, UTC if no offset; docs/sso.md). Default: 90 days after the
# retirement on 2026-11-28.
CERTADMIN_PROXY_DEADLINE = datetime.fromisoformat(
    os.environ.get("CERTADMIN_PROXY_DEADLINE", "2027-02-26T00:00:00+00:00")
)
if CERTADMIN_PROXY_DEADLINE.tzinfo is None:
    CERTADMIN_PROXY_DEADLINE = CERTADMIN_PROXY_DEADLINE.replace(tzinfo=UTC)

# Expiration notices (SPEC 4; docs/notifications.md): days before a certificate's expiration
# date (in its org's time zone) at which its notices are due; 1 = the day before, 0 = the day.
EXPIRY_NOTICE_DAYS = (60, 30, 10, 1, 0)
# A notice claimed by a run that has not marked it sent within this many seconds is taken
# to belong to a crashed run and is retried by the next one.
EXPIRY_NOTICE_CLAIM_LEASE_SECONDS = int(os.environ.get("EXPIRY_NOTICE_CLAIM_LEASE_SECONDS", "900"))
# Notices are marked sent right after the mail server accepted their email (1: one commit
# per email, so a crash repeats at most that email). N > 1 commits the marks of N emails
# together: a faster job on a busy database, and a crash may repeat up to N emails.
EXPIRY_NOTICE_MARK_EVERY = int(os.environ.get("EXPIRY_NOTICE_MARK_EVERY", "1"))

# Security: secure cookies and headers whenever we are not in development mode.
SECURE_MODE = env_bool("SECURE_MODE", not DEV_MODE)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if SECURE_MODE:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # ACME CAs fetch http-01 answers over plain HTTP, before any certificate exists.
    SECURE_REDIRECT_EXEMPT = [r"^\.well-known/acme-challenge/"]

# Uploads (certificates, keystores) are read in memory and capped (SPEC 3: default 1 MiB).
CERTADMIN_UPLOAD_MAX_BYTES = int(os.environ.get("CERTADMIN_UPLOAD_MAX_BYTES", str(1024 * 1024)))
# Keystore imports refuse stores with more entries than this.
CERTADMIN_KEYSTORE_MAX_ENTRIES = int(os.environ.get("CERTADMIN_KEYSTORE_MAX_ENTRIES", "1000"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Key-encryption keys (SPEC 8). CERTADMIN_KEKS: comma-separated base64 32-byte keys, first
# encrypts, all decrypt. Or CERTADMIN_KEK_FILE: a file with one such key per line, made by
# `manage.py generate_kek`. Only in development mode is a missing file generated on first use
# (0600); in production a missing KEK is a system-check error (keys.E001) and the app does not
# start, because a key generated on each host would differ between hosts.
CERTADMIN_KEKS = env_list("CERTADMIN_KEKS", "")
CERTADMIN_KEK_FILE = os.environ.get("CERTADMIN_KEK_FILE", str(VAR_DIR / "kek.key"))
CERTADMIN_KEK_GENERATE = DEV_MODE and not CERTADMIN_KEKS

# Mutual TLS and the JSON API (SPEC 5; docs/mtls.md).
# The roots a mutual authentication certificate must chain to: a PEM bundle (default: certifi's).
CERTADMIN_MTLS_TRUST_BUNDLE = os.environ.get("CERTADMIN_MTLS_TRUST_BUNDLE", "") or certifi.where()
# Accept self-signed client certificates on upload (each then vouches only for itself).
CERTADMIN_MTLS_ALLOW_SELF_SIGNED = env_bool("CERTADMIN_MTLS_ALLOW_SELF_SIGNED", False)
# Addresses (or networks) of the TLS proxies whose client-certificate headers are believed.
# Empty: none, so the headers are ignored (and removed) whatever their source.
CERTADMIN_MTLS_TRUSTED_PROXIES = env_list("CERTADMIN_MTLS_TRUSTED_PROXIES", "")
# Optional secret the proxy also sends; needed when untrusted clients share the proxy's host.
CERTADMIN_MTLS_PROXY_SECRET = os.environ.get("CERTADMIN_MTLS_PROXY_SECRET", "")
# The listener marker: the proxy sets this header to "mtls" on the mutual-TLS listener only,
# and passes nginx's $ssl_client_escaped_cert in the second one.
CERTADMIN_MTLS_LISTENER_HEADER = "X-Certadmin-Listener"
CERTADMIN_MTLS_CERT_HEADER = "X-Certadmin-Client-Cert"
CERTADMIN_MTLS_SECRET_HEADER = "X-Certadmin-Proxy-Secret"
# True when gunicorn itself terminates mutual TLS (--cert-reqs 1): its TLS socket is then the
# mutual-TLS listener and the client certificate is read from it, not from a header.
CERTADMIN_MTLS_DIRECT = env_bool("CERTADMIN_MTLS_DIRECT", False)
# Where clients reach the mutual-TLS listener; named in API errors and the token page.
CERTADMIN_MTLS_URL = os.environ.get("CERTADMIN_MTLS_URL", "https://127.0.0.1:8443").rstrip("/")

# ACME (issue 18; docs/acme.md). The CA bundle that verifies ACME directories' TLS (a private
# CA such as step-ca; default: certifi's), the request timeout, and the resolvers ("ip" or
# "ip:port", comma-separated; default: the system's) that check manual dns-01 TXT records.
CERTADMIN_ACME_CA_BUNDLE = os.environ.get("CERTADMIN_ACME_CA_BUNDLE", "") or certifi.where()
CERTADMIN_ACME_TIMEOUT = int(os.environ.get("CERTADMIN_ACME_TIMEOUT", "30"))
CERTADMIN_ACME_DNS_RESOLVERS = env_list("CERTADMIN_ACME_DNS_RESOLVERS", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
