"""django-q2 entry points of the certificates app. Thin: call one service, return a summary."""

from certadmin.services.acme import renewal


def renew_acme_certificates() -> str:
    """The hourly ACME renewal (notifications/schedules.py declares the schedule)."""
    return renewal.renew_due().summary()
