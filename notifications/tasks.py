"""django-q2 entry points. Thin: call one service, return a summary for the django-q2 admin."""

from notifications import proxy_warnings, services
from notifications.services import channels


def send_expiry_notices() -> str:
    outcome = services.send_expiry_notices(trigger="schedule")
    # The webhook channels (issue 17): their own claims, so an email outage does not hold
    # them back, nor they the emails.
    channels.deliver()
    assert outcome.run is not None
    if not outcome.error:  # the retired proxy certificate's daily warnings (issue 16)
        proxy_warnings.send_proxy_warnings()
    if outcome.error:
        # Raising marks the django-q2 task failed, so the operator sees it; the run row
        # already records what was sent and the notices left for the next run.
        raise RuntimeError(outcome.error)
    return outcome.run.summary


def retry_channel_deliveries() -> str:
    """Every 5 minutes (notifications/schedules.py): the webhook deliveries whose back-off has
    passed, only those; the same claims as the hourly job's, so both may run at once."""
    return channels.retry_due().summary
