"""Test settings: the production settings with fast hashing and inline tasks."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("CERTADMIN_INSECURE_DEV", "True")
os.environ.setdefault("SECRET_KEY", "test-secret-key")
# A fixed KEK so tests never write to var/ (base64 of 32 bytes).
os.environ.setdefault("CERTADMIN_KEKS", "dGVzdC1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM=")
os.environ.setdefault("CERTADMIN_VAR_DIR", tempfile.mkdtemp(prefix="certadmin-test-"))

from .settings import *  # noqa: F403
from .settings import Q_CLUSTER

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SECURE_SSL_REDIRECT = False
# Emails' links (no request): a configured base; tests of the unset case clear it.
SITE_URL = "https://certadmin.test"
LOGGING = {"version": 1, "disable_existing_loggers": False}
STATIC_ROOT = Path(os.environ["CERTADMIN_VAR_DIR"]) / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_AUTOREFRESH = True
