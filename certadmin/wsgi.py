import os

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "certadmin.settings")

application = get_wsgi_application()

# gunicorn runs no system checks: refuse to serve without a key-encryption key (keys.E001),
# rather than fail on the first private key or make up a key that other hosts do not have.
_errors = [message for message in checks.run_checks(tags=["keys"]) if message.is_serious()]
if _errors:
    raise ImproperlyConfigured("\n".join(f"{m.msg} {m.hint}" for m in _errors))
