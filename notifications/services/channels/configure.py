"""The Setup page's writes for webhook channels: create, change, delete, and "Send test"."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from certadmin.models import NamedCredential
from notifications.models import ChannelDelivery, NotificationChannel
from notifications.services.channels.formats import Notice, message
from notifications.services.channels.transport import TIMEOUT, post
from orgs.links import absolute, org_url
from orgs.models import Organization
from orgs.services.audit import record_audit

SECTION = "Expiration Notifications"
State = ChannelDelivery.State


@dataclass(frozen=True)
class ChannelSettings:
    name: str
    format: str
    url: str = ""
    named_credential: NamedCredential | None = None
    enabled: bool = True


def _check(channel: NotificationChannel, data: ChannelSettings) -> None:
    errors: dict[str, list[str]] = {}
    if not data.name.strip():
        errors["name"] = ["The Name is required."]
    elif (
        NotificationChannel.objects.filter(organization=channel.organization)
        .alias(lower=Lower("name"))
        .filter(lower=data.name.lower())
        .exclude(pk=channel.pk)
        .exists()
    ):
        errors["name"] = [f"A channel named {data.name} already exists."]
    if data.format not in NotificationChannel.Format.values:
        errors["format"] = ["Choose Generic JSON, Slack or Microsoft Teams."]
    if bool(data.url) == (data.named_credential is not None):
        errors["url"] = ["Give a URL or choose a named credential (one of them)."]
    elif data.url and not data.url.lower().startswith(("https://", "http://")):
        errors["url"] = ["The URL must start with https:// (or http://)."]
    credential = data.named_credential
    if credential is not None and credential.organization_id != channel.organization_id:
        errors["named_credential"] = ["Choose a named credential of this org."]
    if errors:
        raise ValidationError(errors)


def _save(channel: NotificationChannel) -> None:
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError as exc:
        raise ValidationError({"name": ["A channel with this name already exists."]}) from exc


def _apply(channel: NotificationChannel, data: ChannelSettings) -> None:
    channel.name = data.name.strip()
    channel.format = data.format
    channel.url = data.url
    channel.named_credential = data.named_credential
    channel.enabled = data.enabled


@transaction.atomic
def create_channel(
    *, org: Organization, data: ChannelSettings, acting_user: User | None
) -> NotificationChannel:
    channel = NotificationChannel(organization=org)
    _check(channel, data)
    _apply(channel, data)
    _save(channel)
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="createdNotificationChannel",
        message=f"Created notification channel {channel.name} ({channel.get_format_display()}, "
        f"{channel.target})",
    )
    return channel


@transaction.atomic
def update_channel(
    *, channel: NotificationChannel, data: ChannelSettings, acting_user: User | None
) -> None:
    _check(channel, data)
    _apply(channel, data)
    channel.modified_at = timezone.now()
    _save(channel)
    record_audit(
        org=channel.organization,
        acting_user=acting_user,
        section=SECTION,
        action="changedNotificationChannel",
        message=f"Changed notification channel {channel.name} ({channel.get_format_display()}, "
        f"{channel.target}{'' if channel.enabled else ', disabled'})",
    )


@transaction.atomic
def delete_channel(*, channel: NotificationChannel, acting_user: User | None) -> None:
    name, org = channel.name, channel.organization
    channel.delete()
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="deletedNotificationChannel",
        message=f"Deleted notification channel {name}",
    )


def send_test(
    *, channel: NotificationChannel, acting_user: User | None, now: datetime | None = None
) -> ChannelDelivery:
    """The "Send test" button: one test message now, recorded among the deliveries."""
    now = now or timezone.now()
    org = channel.organization
    delivery = ChannelDelivery.objects.create(
        channel=channel,
        source=ChannelDelivery.TEST_SOURCE,
        object_id=0,
        label="Test message",
        kind_label="Test",
        expires_at=now,
        threshold=0,
        state=State.CLAIMED,
        created_at=now,
    )
    notice = Notice(
        delivery=delivery.uuid,
        org=org,
        label="Example certificate",
        kind="Self-Signed",
        expires_at=now + timedelta(days=30),
        days_left=30,
        threshold=30,
        url=absolute(org_url("notifications:settings", org.public_id), org),
        uses=[],
        test=True,
    )
    answer = post(channel, message(channel.format, notice), delivery.uuid, TIMEOUT)
    delivery.state = State.SENT if answer.ok else State.FAILED
    delivery.attempts = 1
    delivery.last_attempt_at = now
    delivery.sent_at = now if answer.ok else None
    delivery.last_status = answer.status
    delivery.last_error = answer.error[:500]
    delivery.save()
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="testedNotificationChannel",
        message=f"Sent a test message to notification channel {channel.name}: "
        + ("delivered" if answer.ok else answer.error),
    )
    return delivery
