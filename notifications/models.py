"""The send log of expiration notices and the record of each run of the job (SPEC 4)."""

import uuid
from datetime import datetime, timedelta
from typing import Any, Self

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from orgs.wording import count


class ExpiryNoticeQuerySet(models.QuerySet["ExpiryNotice"]):
    def for_org(self, org: object) -> Self:
        return self.filter(organization=org)

    def pending(self, *, now: datetime | None = None) -> Self:
        """Notices a run should (re)try: failed and held ones, and claims older than the lease.

        A claim younger than the lease belongs to a run that may still be sending it: a run
        renews its claims while it sends (services.claims.Claims.renew).
        """
        now = now or timezone.now()
        stale = now - timedelta(seconds=settings.EXPIRY_NOTICE_CLAIM_LEASE_SECONDS)
        return self.filter(
            Q(state__in=[ExpiryNotice.State.FAILED, ExpiryNotice.State.HELD])
            | Q(state=ExpiryNotice.State.CLAIMED, claimed_at__lt=stale)
        )

    def claimed_by(self, run: "NotificationRun") -> Self:
        return self.filter(state=ExpiryNotice.State.CLAIMED, run=run)


class ExpiryNotice(models.Model):
    """One notice: one certificate, one expiration, one threshold, one recipient.

    The unique constraint is what makes the job idempotent and safe to run in several
    processes at once: a run inserts its rows as `claimed` by itself (`run`; conflicts are
    ignored), sends only the rows it claimed, then marks them. Label, type and uuid
    of the certificate are copied so the history stays readable after it is deleted.
    """

    class State(models.TextChoices):
        CLAIMED = "claimed", "Claimed"  # a run is sending it (or crashed while doing so)
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"  # the mail server refused it; the next run retries
        SUPERSEDED = "superseded", "Superseded"  # a tighter notice was due: never sent late
        SUPPRESSED = "suppressed", "Suppressed"  # renewed, deleted or recipient gone
        # The recipient already had this org's email today (one per person per org per day):
        # it goes with their next day's digest.
        HELD = "held", "Held for the next day"

    # No index of its own: notifications_notice_org (organization, -created_at) serves the
    # lookups by org, and every index costs each mark (a non-HOT update) one more entry.
    organization = models.ForeignKey(
        "orgs.Organization",
        on_delete=models.CASCADE,
        related_name="expiry_notices",
        db_index=False,
    )
    # Which kind of certificate (notifications.sources) and which row of it.
    source = models.CharField(max_length=32)
    object_id = models.PositiveBigIntegerField()
    object_uuid = models.UUIDField()
    # SET_NULL: deleting a certificate is never blocked by its notices, and the history
    # (label, type, dates, recipients) stays. CASCADE would erase what was sent.
    certificate = models.ForeignKey(
        "certadmin.Certificate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="expiry_notices",
    )
    label = models.CharField(max_length=200)
    kind_label = models.CharField("Type", max_length=40)
    # The certificate's expiration (not_after) this notice is about: a renewal changes it,
    # which starts a new cycle of notices.
    expires_at = models.DateTimeField("Expiration date")
    threshold = models.PositiveSmallIntegerField("Threshold (days)")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recipient_email = models.EmailField(blank=True)
    state = models.CharField(max_length=12, choices=State.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # The run that claimed it (while `claimed`), else the last run that handled it.
    run = models.ForeignKey(
        "NotificationRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notices",
    )

    objects = ExpiryNoticeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "object_id", "expires_at", "threshold", "recipient"],
                name="notifications_notice_once",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="notifications_notice_org"),
            # Few rows are pending at any time: a partial index keeps their lookup cheap.
            models.Index(
                fields=["state", "claimed_at"],
                name="notifications_notice_pending",
                condition=Q(state__in=["claimed", "failed", "held"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.threshold}-day notice to {self.recipient_email or '?'}"

    @classmethod
    def insert_new(cls, rows: list[dict[str, Any]]) -> None:
        """INSERT rows (attname -> value; omitted columns get their default), skipping any
        that conflicts with an existing notice: a conflict is a notice another run inserted
        first."""
        ExpiryNotice.objects.bulk_create(
            [ExpiryNotice(**row) for row in rows], ignore_conflicts=True
        )

    @classmethod
    def mark(
        cls, ids: list[int], *, run_id: int, state: str, now: datetime, error: str = ""
    ) -> int:
        """Record the outcome of emails for the notices they carried, if run `run_id` still
        holds their claim. Returns the number of notices marked.

        The run and state conditions are what keep a mark from touching a notice another
        run has taken over. They are one CASE so that the primary key is the only index
        PostgreSQL can use: with statistics from before the run (no claimed rows), it would
        otherwise pick the partial index of pending notices and walk all of this run's
        claims (up to ~1,000 per batch) once per email.
        """
        holds = Case(
            When(run_id=run_id, state=cls.State.CLAIMED, then=Value(True)),
            default=Value(False),
            output_field=models.BooleanField(),
        )
        return cls.objects.filter(holds, pk__in=ids).update(
            state=state,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            sent_at=now if state == cls.State.SENT else None,
            last_error=error[:500],
        )


class NotificationRunQuerySet(models.QuerySet["NotificationRun"]):
    def succeeded(self) -> Self:
        return self.filter(status=NotificationRun.Status.SUCCEEDED)

    def interrupt_stale(self, *, now: datetime) -> int:
        """Record as interrupted the runs still "running" whose heartbeat is older than the
        claim lease: their process is gone (a live run renews it with its claims), and
        their claims are free for others to take over. Returns how many."""
        stale = now - timedelta(seconds=settings.EXPIRY_NOTICE_CLAIM_LEASE_SECONDS)
        return self.filter(status=NotificationRun.Status.RUNNING, heartbeat_at__lt=stale).update(
            status=NotificationRun.Status.INTERRUPTED,
            error="Stopped without finishing (process killed or host lost); its unsent "
            "notices are retried by later runs.",
        )


class NotificationRun(models.Model):
    """One run of the job, whatever started it (schedule, command, admin)."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Some notices failed"
        FAILED = "failed", "Failed"
        # Stopped without finishing (process killed, host lost): found by a later run.
        INTERRUPTED = "interrupted", "Interrupted"

    started_at = models.DateTimeField(default=timezone.now)
    # Renewed with the run's claims: a run still "running" with an older heartbeat than
    # the claim lease is no longer working (NotificationRun.objects.interrupt_stale()).
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    trigger = models.CharField(max_length=20, default="schedule")
    # Set when run for a chosen day (`send_expiry_notifications --date`).
    on_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    emails_sent = models.PositiveIntegerField(default=0)
    notices_sent = models.PositiveIntegerField(default=0)
    notices_failed = models.PositiveIntegerField(default=0)
    superseded = models.PositiveIntegerField(default=0)
    suppressed = models.PositiveIntegerField(default=0)
    # Claimed by this run, then taken over by another (this run stalled past the lease):
    # this run did not send them, or its mark after sending was refused.
    notices_lost = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    host = models.CharField(max_length=200, blank=True)

    objects = NotificationRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["status", "-started_at"], name="notifications_run_status")]

    def __str__(self) -> str:
        return f"Run of {self.started_at:%Y-%m-%d %H:%M:%S} ({self.get_status_display()})"

    @property
    def summary(self) -> str:
        lost = f", {self.notices_lost} lost to another run" if self.notices_lost else ""
        return (
            f"{count(self.emails_sent, 'email', 'emails')} with "
            f"{count(self.notices_sent, 'notice', 'notices')} sent, "
            f"{self.notices_failed} failed, {self.superseded} superseded, "
            f"{self.suppressed} suppressed{lost}"
        )


class NotificationRunOrg(models.Model):
    """What one run did for one org: the org's page shows these, not other orgs' figures."""

    run = models.ForeignKey(NotificationRun, on_delete=models.CASCADE, related_name="org_results")
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="notification_runs"
    )
    emails_sent = models.PositiveIntegerField(default=0)
    notices_sent = models.PositiveIntegerField(default=0)
    notices_failed = models.PositiveIntegerField(default=0)
    superseded = models.PositiveIntegerField(default=0)
    suppressed = models.PositiveIntegerField(default=0)
    notices_lost = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-run__started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "organization"], name="notifications_runorg_once"
            ),
        ]
        indexes = [models.Index(fields=["organization", "-id"], name="notifications_runorg_org")]

    def __str__(self) -> str:
        return f"{self.run} for {self.organization_id}"


class NotificationChannel(models.Model):
    """A webhook an org's expiration notices also go to (issue 17): generic JSON, Slack or
    Microsoft Teams, posted to a plain URL or through a named credential (mutual TLS, signed)."""

    class Format(models.TextChoices):
        JSON = "json", "Generic JSON"
        SLACK = "slack", "Slack incoming webhook"
        TEAMS = "teams", "Microsoft Teams incoming webhook"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="notification_channels"
    )
    name = models.CharField(max_length=80)
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.JSON)
    # Exactly one of the two (constraint below).
    url = models.URLField("URL", max_length=500, blank=True)
    named_credential = models.ForeignKey(
        "certadmin.NamedCredential",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notification_channels",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    modified_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "notification channel"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("name"),
                name="notifications_channel_name_per_org",
                violation_error_message="A channel with this name already exists.",
            ),
            models.CheckConstraint(
                condition=(Q(url="") & Q(named_credential__isnull=False))
                | (~Q(url="") & Q(named_credential__isnull=True)),
                name="notifications_channel_one_target",
                violation_error_message="Give a URL or choose a named credential (one of them).",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def target(self) -> str:
        credential = self.named_credential
        return f"{credential.url} (named credential {credential.name})" if credential else self.url


class ChannelDelivery(models.Model):
    """One notice to one channel: claimed by a run, sent, marked, like ExpiryNotice per
    recipient. The unique constraint makes it once per (channel, certificate, expiration,
    threshold), whatever the number of runs and processes."""

    class State(models.TextChoices):
        CLAIMED = "claimed", "Claimed"
        SENT = "sent", "Delivered"
        FAILED = "failed", "Failed (retried)"
        SUPERSEDED = "superseded", "Superseded"
        SUPPRESSED = "suppressed", "Suppressed"

    TEST_SOURCE = "test"  # a "Send test" delivery (object_id 0, expires_at the moment sent)

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.CASCADE, related_name="deliveries"
    )
    source = models.CharField(max_length=32)
    object_id = models.PositiveBigIntegerField()
    object_uuid = models.UUIDField(null=True, blank=True)
    label = models.CharField(max_length=200)
    kind_label = models.CharField("Type", max_length=40)
    expires_at = models.DateTimeField("Expiration date")
    threshold = models.PositiveSmallIntegerField("Threshold (days)")
    state = models.CharField(max_length=12, choices=State.choices)
    claim = models.UUIDField(null=True, blank=True)  # the run holding it while `claimed`
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "channel delivery"
        verbose_name_plural = "channel deliveries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "source", "object_id", "expires_at", "threshold"],
                name="notifications_delivery_once",
            ),
        ]
        indexes = [
            models.Index(fields=["channel", "-created_at"], name="notifications_delivery_recent"),
            models.Index(
                fields=["state", "next_attempt_at"],
                name="notifications_delivery_pending",
                condition=Q(state__in=["claimed", "failed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.threshold}-day notice to {self.channel}"
