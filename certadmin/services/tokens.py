"""API tokens: create (shown once), revoke, and authenticate a presented token (SPEC 5).

See certadmin/models/api.py for the token format and why SHA-256 is the right hash here.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from certadmin.models import ApiToken
from certadmin.models.api import TOKEN_PREFIX
from orgs.models import Membership, Organization
from orgs.services.audit import record_audit

SECTION = "API Tokens"
# last_used_at is refreshed at most this often, so a busy client does not write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)
EXPIRY_CHOICES = {"30": 30, "90": 90, "365": 365, "never": None}
_TOKEN = re.compile(rf"^{TOKEN_PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})$")


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    plaintext: str  # shown to its creator once, never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


@transaction.atomic
def create_api_token(
    *,
    org: Organization,
    user: User,
    name: str,
    expires_in_days: int | None,
    acting_user: User | None,
    now: datetime | None = None,
) -> NewToken:
    """Make a token for `user` (a member of `org`); the plaintext is returned once."""
    now = now or timezone.now()
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["Give the token a name, e.g. the client that uses it."]})
    if not Membership.objects.filter(organization=org, user=user, is_active=True).exists():
        raise ValidationError("That user is not an active member of this org.")
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise ValidationError({"expires": ["A token expires after 1 to 3650 days, or never."]})
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)  # 256 random bits, 43 characters
    token = ApiToken(
        organization=org,
        user=user,
        name=name,
        key_id=key_id,
        secret_sha256=_digest(secret),
        created_at=now,
        created_by=acting_user,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    token.full_clean()
    token.save()
    whom = "" if acting_user == user else f" for {user.get_username()}"
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="createdApiToken",
        message=f"Created API token {name} ({token.display_prefix}){whom}",
    )
    return NewToken(token, f"{TOKEN_PREFIX}_{key_id}_{secret}")


@transaction.atomic
def revoke_api_token(
    *, token: ApiToken, acting_user: User | None, now: datetime | None = None
) -> bool:
    """Revoke `token`; False if it was already revoked."""
    if token.revoked_at is not None:
        return False
    token.revoke(now=now)
    whom = "" if acting_user == token.user else f" of {token.user.get_username()}"
    record_audit(
        org=token.organization,
        acting_user=acting_user,
        section=SECTION,
        action="revokedApiToken",
        message=f"Revoked API token {token.name} ({token.display_prefix}){whom}",
    )
    return True


def authenticate_token(presented: str, *, now: datetime | None = None) -> ApiToken | None:
    """The active token `presented` stands for, with its user and org loaded; else None.

    One indexed lookup by key id, then a constant-time comparison of SHA-256 digests.
    """
    match = _TOKEN.match(presented)
    if match is None:
        return None
    key_id, secret = match.groups()
    token = (
        ApiToken.objects.select_related("user", "organization")
        .filter(key_id=key_id, user__is_active=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.secret_sha256, _digest(secret)):
        return None
    now = now or timezone.now()
    if not token.is_active(now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
