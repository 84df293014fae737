"""ACME orders in the background (docs/acme.md, "How an order runs").

The page that starts an order stores it "Queued" and enqueues `certadmin.tasks.run_acme_order`
after commit. The worker claims the order with a conditional UPDATE (one worker at a time,
whatever django-q2 delivers twice), then moves it step by step; every step renews the order's
deadline, and only the claimant may move it. A worker that dies leaves its order past the
deadline: the page says it stopped and offers Try again, which queues it for a new claim.
The old claimant, should it still be alive, loses its claim at its next step and writes
nothing. This module says where an order stands, in words, for the page and its JSON.
"""

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from certadmin.models import AcmeChallenge, AcmeOrder

Status = AcmeOrder.Status

# How long a worker has to take a queued order before the page says none did: the cluster
# normally starts a task within a second, so this only fires when no qcluster runs.
QUEUE_DEADLINE = timedelta(minutes=10)
# How long one step may take before the order counts as stopped. The longest step waits for
# the CA's validation (acme_client.finish: 90 s, plus requests of CERTADMIN_ACME_TIMEOUT).
STEP_DEADLINE = timedelta(minutes=5)


class NotClaimed(Exception):
    """The order is finished, or another worker has it: nothing to do here."""


class LostClaim(Exception):
    """Another worker took the order over (it was given up as stopped): stop, write nothing."""


def enqueue(order: AcmeOrder, *, task: str = "certadmin.tasks.run_acme_order") -> None:
    """Run the order in the background (`task`, by dotted path) once the current transaction
    commits."""
    order_id = order.pk
    transaction.on_commit(lambda: async_task(task, order_id))


def queued_fields(order: AcmeOrder, now: datetime) -> list[str]:
    """Set `order` to Queued (fields only; the caller saves the returned fields)."""
    order.status, order.claimed_by = Status.QUEUED, ""
    order.deadline = now + QUEUE_DEADLINE
    return ["status", "claimed_by", "deadline"]


def _claimant() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def claim(order: AcmeOrder) -> str:
    """Take the order for this worker: Queued, or working but past its deadline. Returns the
    claim token the next steps need; raises NotClaimed otherwise."""
    now = timezone.now()
    token = _claimant()
    stopped = Q(status__in=AcmeOrder.WORKING) & (Q(deadline__isnull=True) | Q(deadline__lte=now))
    won = AcmeOrder.objects.filter(Q(status=Status.QUEUED) | stopped, pk=order.pk).update(
        status=Status.ORDERING,
        claimed_by=token,
        deadline=now + STEP_DEADLINE,
        attempts=F("attempts") + 1,
        error="",
        error_code="",
    )
    order.refresh_from_db()
    if not won:
        if order.status in AcmeOrder.WORKING:
            raise NotClaimed(f"Order {order.uuid} is being run by another worker.")
        raise NotClaimed(f"Order {order.uuid} is {order.get_status_display().lower()}.")
    return token


def advance(order: AcmeOrder, token: str, status: str, **fields: object) -> None:
    """Move the claimed order to its next step (and renew its deadline), or raise LostClaim."""
    deadline = timezone.now() + STEP_DEADLINE if status in AcmeOrder.WORKING else None
    changes = {"status": status, "deadline": deadline, **fields}
    if status not in AcmeOrder.WORKING:
        changes["claimed_by"] = ""
    if not AcmeOrder.objects.filter(pk=order.pk, claimed_by=token).update(**changes):
        raise LostClaim
    for name, value in changes.items():
        setattr(order, name, value)


def hold(order: AcmeOrder, token: str) -> None:
    """Inside the transaction that stores the result: lock the order, still ours, or raise
    LostClaim (the transaction then writes nothing)."""
    if not AcmeOrder.objects.select_for_update().filter(pk=order.pk, claimed_by=token).exists():
        raise LostClaim


@transaction.atomic
def give_up(order: AcmeOrder, token: str, *, words: str, code: str) -> bool:
    """Mark the claimed order Failed with the CA's words; False when it is no longer ours."""
    won = AcmeOrder.objects.filter(pk=order.pk, claimed_by=token).update(
        status=Status.FAILED,
        error=words,
        error_code=code,
        claimed_by="",
        deadline=None,
        finished_at=timezone.now(),
    )
    if won:
        AcmeChallenge.objects.filter(order=order).delete()
        order.status, order.error, order.error_code = Status.FAILED, words, code
    return bool(won)


# --- where an order stands, in words ----------------------------------------------------------

# What to do after a failure, by AcmeProblem.code (acme_client.problem_of).
_ADVICE = {
    "unreachable": "Check that this server can reach the CA's directory URL, then try again.",
    "network": "Check that this server can reach the CA's directory URL, then try again.",
    "tls": "For a private CA, set CERTADMIN_ACME_CA_BUNDLE to its root (ask your operator), "
    "then try again.",
    "timeout": "The CA was slow: try again.",
    "validation": "Make sure each name resolves to this server on port 80 (http-01), or that "
    "the TXT records are published (dns-01), then try again.",
    "connection": "Make sure each name resolves to this server on port 80, then try again.",
    "dns": "Check the names' DNS records, then try again.",
    "incorrectResponse": "Check that nothing else answers for the names on port 80, then try "
    "again.",
    "rateLimited": "Wait until the CA's rate limit resets (Let's Encrypt: up to a week), then "
    "try again.",
    "unauthorized": "Register the ACME account again on its page, then try again.",
    "accountDoesNotExist": "Register the ACME account again on its page, then try again.",
    "externalAccountRequired": "Enter the EAB key ID and HMAC key on the account's page, "
    "then try again.",
    "caa": "Change the names' CAA records to allow this CA, or use another CA.",
    "rejectedIdentifier": "This CA will not issue for these names: use another CA.",
    "name": "Start a new order with another Unique Name.",
    "internal": "The server log has the details: try again, or tell your operator.",
}
_DEFAULT_ADVICE = "Try again; if it fails again, see \u201cWhat goes wrong\u201d in the help."


@dataclass(frozen=True)
class Progress:
    """An order's state for its page and the page's JSON: one wording for both."""

    status: str
    words: str  # the state, in a sentence
    advice: str  # what to do (a failure, a stopped order), or ""
    running: bool  # a worker has it: the page keeps watching
    stalled: bool
    can_retry: bool

    def as_json(self) -> dict[str, object]:
        return {
            "status": self.status,
            "words": self.words,
            "advice": self.advice,
            "running": self.running,
            "stalled": self.stalled,
            "can_retry": self.can_retry,
        }


def _names(domains: list[str]) -> str:
    return domains[0] if len(domains) == 1 else ", ".join(domains[:-1]) + " and " + domains[-1]


def progress(order: AcmeOrder, *, now: datetime | None = None) -> Progress:
    """Where `order` stands, in words (one query: the names still being validated)."""
    now = now or timezone.now()
    stalled, status = order.is_stalled(now), order.status
    words, advice = _words(order, stalled), ""
    if stalled:
        advice = (
            "Nothing was stored. Choose Try again to run the order again."
            if order.purpose != AcmeOrder.Purpose.RENEWAL
            else "The renewal schedule tries again with back-off."
        )
    elif status == Status.FAILED:
        advice = (
            _ADVICE.get(order.error_code, _DEFAULT_ADVICE)
            if order.purpose != AcmeOrder.Purpose.RENEWAL
            else "The renewal schedule tries again with back-off; Renew now on the "
            "certificate's Renewal Settings tries at once."
        )
    return Progress(
        status=status,
        words=words,
        advice=advice,
        running=order.is_running(now),
        stalled=stalled,
        can_retry=order.can_retry(now),
    )


_STEPS: dict[str, str] = {
    Status.ORDERING: "contacting the CA",
    Status.VALIDATING: "waiting for the CA to validate",
    Status.FINALIZING: "finalizing",
}


def _words(order: AcmeOrder, stalled: bool) -> str:
    status, at = order.status, timezone.localtime(order.deadline) if order.deadline else None
    if stalled and status == Status.QUEUED:
        return (
            "Not started: no background worker took this order"
            + (f" by {at:%H:%M}" if at else "")
            + ". The worker (manage.py qcluster) must be running: ask your operator."
        )
    if stalled:
        step = _STEPS.get(status, "working")
        return (
            f"Stopped: the background worker stopped answering while {step}"
            + (f" (at {at:%H:%M})" if at else "")
            + "; it was restarted or timed out."
        )
    if status == Status.QUEUED:
        return "Queued: waiting for the background worker to start it."
    if status == Status.ORDERING:
        return f"Contacting the CA: placing the order for {_names(order.domains)}."
    if status == Status.VALIDATING:
        pending = list(order.challenges.values_list("domain", flat=True))
        return (
            f"Waiting for the CA to validate {_names(pending)}."
            if pending
            else "Waiting for the CA: it had validated these names before."
        )
    if status == Status.FINALIZING:
        return "Finalizing: the CA validated every name and is issuing the certificate."
    if status == Status.AWAITING_DNS:
        return "Waiting for the TXT records: create them below, then choose Check and continue."
    if status == Status.ISSUED:
        name = order.result.unique_name if order.result else "the certificate"
        return f"Issued: the CA issued {name}."
    return f"Failed: {order.error}"
