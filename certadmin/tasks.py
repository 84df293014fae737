"""django-q2 entry points of the certificates app. Thin: call one service, return a summary."""

from certadmin.services import sso_login
from certadmin.services.acme import renewal
from orgs import wording


def renew_acme_certificates() -> str:
    """The hourly ACME renewal (notifications/schedules.py declares the schedule)."""
    return renewal.renew_due().summary()


def prune_saml_records() -> str:
    """The hourly SAML housekeeping: spent login requests and assertion ids that expired."""
    requests, assertions = sso_login.prune_spent()
    spent = wording.count(requests, "SAML login request", "SAML login requests")
    ids = wording.count(assertions, "assertion id", "assertion ids")
    return f"Forgot {spent} and {ids}."
