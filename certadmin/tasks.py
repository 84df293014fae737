"""django-q2 entry points of the certificates app. Thin: call one service, return a summary."""

from certadmin.services import idp, sso_login
from certadmin.services.acme import orders, renewal
from orgs import wording


def run_acme_order(order_id: int) -> str:
    """One "Get from ACME" order, enqueued by the page that starts it (or Try again)."""
    return orders.run_queued_order(order_id)


def renew_acme_order(order_id: int) -> str:
    """Renew Now on a certificate's Renewal Settings, enqueued with its order."""
    return renewal.run_queued_renewal(order_id)


def renew_acme_certificates() -> str:
    """The hourly ACME renewal (notifications/schedules.py declares the schedule)."""
    return renewal.renew_due().summary()


def prune_saml_records() -> str:
    """The hourly SAML housekeeping: spent login requests and assertion ids that expired, and
    the ids of requests the Identity Provider answered that are too old to come back."""
    requests, assertions = sso_login.prune_spent()
    answered = idp.prune_answered()
    spent = wording.count(requests, "SAML login request", "SAML login requests")
    ids = wording.count(assertions, "assertion id", "assertion ids")
    idp_ids = wording.count(
        answered, "answered Identity Provider request", "answered Identity Provider requests"
    )
    return f"Forgot {spent}, {ids} and {idp_ids}."
