"""ACME accounts of an org: create, register at the CA, roll the key over, deactivate."""

import base64
import binascii

from acme.client import ClientV2
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from certadmin import acme_client
from certadmin.crypto import keypairs
from certadmin.models import AcmeAccount
from keys import envelope
from orgs.models import Organization
from orgs.services.audit import record_audit

SECTION = "Certificate and Key Management"
ACCOUNT_KEY_PURPOSE = "certadmin.AcmeAccount.account_key"
EAB_PURPOSE = "certadmin.AcmeAccount.eab_hmac_key"
TSIG_PURPOSE = "certadmin.AcmeAccount.tsig_secret"
ACCOUNT_KEY_TYPES = ("EC-P256", "EC-P384", "RSA-2048", "RSA-3072", "RSA-4096")


def endpoint(account: AcmeAccount) -> acme_client.Endpoint:
    return acme_client.Endpoint(
        directory_url=account.directory_url,
        verify=settings.CERTADMIN_ACME_CA_BUNDLE,
        timeout=settings.CERTADMIN_ACME_TIMEOUT,
    )


def account_key(account: AcmeAccount) -> keypairs.PrivateKey:
    der = envelope.open_sealed(bytes(account.account_key), purpose=ACCOUNT_KEY_PURPOSE)
    return keypairs.load_private_key_der(der, trusted=True)


def client_for(account: AcmeAccount) -> ClientV2:
    """A client of the account's CA, signing as the registered account."""
    if account.status != AcmeAccount.Status.VALID:
        raise acme_client.AcmeProblem(
            f"The ACME account {account.label} is {account.get_status_display().lower()}: "
            "register it first.",
            code="account",
            retry=False,
        )
    return acme_client.connect(endpoint(account), account_key(account), account.account_url)


def _seal_text(text: str, purpose: str) -> bytes:
    return envelope.seal(text.encode(), purpose=purpose)


def open_text(blob: bytes | memoryview | None, purpose: str) -> str:
    return "" if blob is None else envelope.open_sealed(bytes(blob), purpose=purpose).decode()


def _check_base64(value: str, field: str, what: str, *, urlsafe: bool) -> None:
    padded = value + "=" * (-len(value) % 4)
    try:
        raw = (base64.urlsafe_b64decode if urlsafe else base64.b64decode)(padded.encode())
    except (binascii.Error, ValueError) as exc:
        raise ValidationError({field: [f"The {what} must be base64 text."]}) from exc
    if len(raw) < 16:
        raise ValidationError({field: [f"The {what} is too short to be a real key."]})


@transaction.atomic
def create_account(
    *,
    org: Organization,
    label: str,
    directory_url: str,
    contact_email: str = "",
    terms_agreed: bool = False,
    eab_kid: str = "",
    eab_hmac_key: str = "",
    key_type: str = "EC-P256",
    acting_user: User | None,
) -> AcmeAccount:
    """Store a new account with a fresh sealed key; `register_account` then tells the CA."""
    if key_type not in ACCOUNT_KEY_TYPES:
        raise ValidationError({"key_type": ["Choose ECDSA P-256/P-384 or RSA 2048/3072/4096."]})
    if bool(eab_kid) != bool(eab_hmac_key):
        raise ValidationError("Enter both the EAB key ID and the EAB HMAC key, or neither.")
    if eab_hmac_key:
        _check_base64(eab_hmac_key, "eab_hmac_key", "EAB HMAC key", urlsafe=True)
    account = AcmeAccount(
        organization=org,
        label=label,
        directory_url=directory_url,
        contact_email=contact_email,
        terms_agreed=terms_agreed,
        eab_kid=eab_kid,
        eab_hmac_key=_seal_text(eab_hmac_key, EAB_PURPOSE) if eab_hmac_key else None,
        key_type=key_type,
        account_key=envelope.seal(
            keypairs.private_key_to_der(keypairs.generate_private_key(key_type)),
            purpose=ACCOUNT_KEY_PURPOSE,
        ),
        created_by=acting_user,
    )
    account.full_clean(exclude=["account_key", "eab_hmac_key", "tsig_secret"])
    try:
        with transaction.atomic():
            account.save(force_insert=True)
    except IntegrityError as exc:
        raise ValidationError(
            {"label": ["An ACME account with this label already exists."]}
        ) from exc
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="createdAcmeAccount",
        message=f"Created ACME account {label} ({directory_url})"
        + (f", external account binding {eab_kid}" if eab_kid else ""),
    )
    return account


def register_account(*, account: AcmeAccount, acting_user: User | None) -> AcmeAccount:
    """Create the account at its CA. On a refusal the account stays "Not registered" with the
    CA's words in `last_error`, and ValidationError says them."""
    if account.status == AcmeAccount.Status.VALID:
        return account
    if account.status == AcmeAccount.Status.DEACTIVATED:
        raise ValidationError("A deactivated account cannot be registered again: create another.")
    try:
        acme = acme_client.connect(endpoint(account), account_key(account))
        url = acme_client.register(
            acme,
            email=account.contact_email,
            terms_agreed=account.terms_agreed,
            eab_kid=account.eab_kid,
            eab_hmac_key=open_text(account.eab_hmac_key, EAB_PURPOSE),
        )
    except acme_client.AcmeProblem as problem:
        account.last_error = problem.words
        account.save(update_fields=["last_error"])
        raise ValidationError(problem.words) from problem
    with transaction.atomic():
        account.account_url, account.status = url, AcmeAccount.Status.VALID
        account.registered_at, account.last_error = timezone.now(), ""
        account.save(update_fields=["account_url", "status", "registered_at", "last_error"])
        record_audit(
            org=account.organization,
            acting_user=acting_user,
            section=SECTION,
            action="registeredAcmeAccount",
            message=f"Registered ACME account {account.label} at {account.directory_url}",
        )
    return account


def rollover_account_key(*, account: AcmeAccount, acting_user: User | None) -> None:
    """Give the account a new key at the CA (RFC 8555 key change), then store it sealed."""
    new_key = keypairs.generate_private_key(account.key_type)
    sealed = envelope.seal(keypairs.private_key_to_der(new_key), purpose=ACCOUNT_KEY_PURPOSE)
    try:
        acme_client.rollover(client_for(account), new_key)
    except acme_client.AcmeProblem as problem:
        raise ValidationError(problem.words) from problem
    with transaction.atomic():
        account.account_key, account.key_rolled_at = sealed, timezone.now()
        account.save(update_fields=["account_key", "key_rolled_at"])
        record_audit(
            org=account.organization,
            acting_user=acting_user,
            section=SECTION,
            action="rolledAcmeAccountKey",
            message=f"Rolled over the key of ACME account {account.label}",
        )


def deactivate_account(*, account: AcmeAccount, acting_user: User | None) -> None:
    """Deactivate the account at the CA (for good: RFC 8555 7.3.6)."""
    try:
        acme_client.deactivate(client_for(account))
    except acme_client.AcmeProblem as problem:
        raise ValidationError(problem.words) from problem
    with transaction.atomic():
        account.status = AcmeAccount.Status.DEACTIVATED
        account.save(update_fields=["status"])
        record_audit(
            org=account.organization,
            acting_user=acting_user,
            section=SECTION,
            action="deactivatedAcmeAccount",
            message=f"Deactivated ACME account {account.label}",
        )


@transaction.atomic
def update_dns_settings(
    *,
    account: AcmeAccount,
    dns_server: str,
    dns_port: int,
    dns_zone: str,
    tsig_key_name: str,
    tsig_algorithm: str,
    tsig_secret: str,
    acting_user: User | None,
) -> None:
    """Where dns-01 TXT records are written (RFC 2136). An empty secret keeps the stored one."""
    if tsig_secret:
        _check_base64(tsig_secret, "tsig_secret", "TSIG secret", urlsafe=False)
    account.dns_server, account.dns_port, account.dns_zone = dns_server, dns_port, dns_zone
    account.tsig_key_name, account.tsig_algorithm = tsig_key_name, tsig_algorithm
    if tsig_secret:
        account.tsig_secret = _seal_text(tsig_secret, TSIG_PURPOSE)
    account.full_clean(exclude=["account_key", "eab_hmac_key", "tsig_secret"])
    if dns_server and not (dns_zone and tsig_key_name and account.tsig_secret):
        raise ValidationError("A DNS update server needs its zone, a TSIG key name and secret.")
    account.save()
    record_audit(
        org=account.organization,
        acting_user=acting_user,
        section=SECTION,
        action="changedAcmeDnsSettings",
        message=f"Changed the DNS update settings of ACME account {account.label}: "
        + (
            f"{dns_server}:{dns_port}, zone {dns_zone}, key {tsig_key_name}"
            if dns_server
            else "none"
        ),
    )
