"""System checks of the keys app: production refuses to start without a key-encryption key.

`manage.py check`, `migrate`, `runserver` and `qcluster` run these; `certadmin/wsgi.py` runs
the "keys" tag before it serves a request, so gunicorn refuses to start as well.
"""

from typing import Any

from django.core import checks

from keys import envelope

KEK_MISSING = "keys.E001"


@checks.register("keys")
def kek_configured(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    problem = envelope.kek_problem()
    if problem is None:
        return []
    return [
        checks.Error(
            problem,
            hint=(
                "Set CERTADMIN_KEKS to one or more base64 32-byte keys, or point "
                "CERTADMIN_KEK_FILE at a file made once with `manage.py generate_kek` and "
                "shared by every host (README: Secrets at rest)."
            ),
            id=KEK_MISSING,
        )
    ]
