"""Sample values for URL keyword arguments, used by the URL-matrix test.

Every URL pattern of the project is walked; each keyword argument other than `org` needs a
sample object of the victim org here. A new kwarg without a sample makes the matrix fail,
so no page escapes the tenancy and permission checks.
"""

from collections.abc import Callable

from django.contrib.auth.models import User

from orgs import permissions
from orgs.models import Membership, Organization, PermissionSet, Profile
from orgs.services import members, permission_sets, profiles

from . import conftest


def _member(org: Organization) -> str:
    user = User.objects.create(username=f"sample-{Membership.objects.count()}")
    return str(members.add_member(org=org, user=user, acting_user=None).uuid)


def _pset(org: Organization) -> str:
    pset = permission_sets.create_permission_set(
        org=org,
        label="Sample",
        api_name=f"Sample_{PermissionSet.objects.count()}",
        permission_codes=[],
        acting_user=None,
    )
    return str(pset.uuid)


def _profile(org: Organization) -> str:
    """A profile made by an admin (the standard ones cannot be edited or deleted)."""
    source = profiles.standard_profile(org, permissions.STANDARD_USER)
    profile = profiles.create_profile(
        org=org, name=f"Sample {Profile.objects.count()}", source=source, acting_user=None
    )
    return str(profile.uuid)


def _certificate(org: Organization) -> str:
    from certadmin.services import certificates

    certificate = certificates.create_ca_signed(
        org=org,
        label="Sample",
        unique_name=f"Sample_{org.certificates.count()}",
        key_type="EC-P256",
        subject=certificates.SubjectFields(common_name="sample.test"),
        acting_user=None,
    )
    return str(certificate.uuid)


def _key_version(org: Organization) -> str:
    """An archived master key (key 1; key 2 is active)."""
    from keys.services.master_keys import rotate_master_key

    _encrypted_field(org)
    rotate_master_key(org=org, acting_user=None)
    return "1"


def _encrypted_field(org: Organization) -> str:
    from keys.services.contacts import create_contact_field

    field = create_contact_field(
        org=org,
        label="Sample",
        api_name=f"Sample_{org.contact_fields.count()}",
        mask_type="last_four",
        mask_char="*",
        acting_user=None,
    )
    return str(field.uuid)


def _contact(org: Organization) -> str:
    from keys.services.contacts import save_contact

    contact = save_contact(
        org=org,
        contact=None,
        first_name="Sam",
        last_name="Sample",
        email="",
        values={},
        acting_user=None,
    )
    return str(contact.uuid)


def _mutual_auth(org: Organization) -> str:
    """A registered client certificate (stored directly: the upload checks have their tests)."""
    from cryptography import x509

    from certadmin.crypto import display
    from certadmin.models import MutualAuthCertificate
    from tests.pem import make_certificate

    pem, _ = make_certificate(common_name="client.sample.test")
    facts = display.describe(x509.load_pem_x509_certificate(pem))
    certificate = MutualAuthCertificate.objects.create(
        organization=org,
        label="Sample client",
        unique_name=f"Sample_{org.mutual_auth_certificates.count()}",
        chain_pem=pem.decode(),
        subject=facts.subject,
        issuer=facts.issuer,
        serial=facts.serial,
        fingerprint_sha256=facts.fingerprint.replace(":", "").lower(),
        not_before=facts.not_before,
        not_after=facts.not_after,
    )
    return str(certificate.uuid)


def _token(org: Organization) -> str:
    """An API token of another member of the org (so revoking it needs Modify All Data)."""
    from certadmin.services import tokens

    user = User.objects.create(username=f"sample-{Membership.objects.count()}")
    members.add_member(org=org, user=user, acting_user=None)
    new = tokens.create_api_token(
        org=org, user=user, name="Sample", expires_in_days=None, acting_user=None
    )
    return str(new.token.uuid)


def _sso(org: Organization) -> str:
    """A SAML SSO configuration from before the retirement, still on the proxy certificate
    (no key to generate, and the replace pages have something to show)."""
    from tests.certadmin.sso_helpers import make_config

    return str(make_config(org, f"Sample {org.saml_sso_configs.count()}", legacy=True).uuid)


def _credential(org: Organization) -> str:
    """A named credential presenting a fresh self-signed certificate of the org."""
    from certadmin.models import NamedCredential
    from certadmin.services import callout, certificates

    count = org.named_credentials.count()
    certificate = certificates.create_self_signed(
        org=org,
        label="Sample client",
        unique_name=f"Sample_Client_{count}",
        key_type="EC-P256",
        acting_user=None,
    )
    credential = callout.create_named_credential(
        org=org,
        data=callout.CredentialSettings(
            label="Sample",
            name=f"Sample_{count}",
            url="https://127.0.0.1:1/hook",  # refused at once: "Test Connection" is quick
            certificate=certificate,
            trust=NamedCredential.Trust.SYSTEM,
        ),
        acting_user=None,
    )
    return str(credential.uuid)


def _sp(org: Organization) -> str:
    """A registered service provider, the org's Identity Provider enabled (so members can log
    in to it)."""
    from certadmin.models import ServiceProvider
    from certadmin.services import sso

    if not sso.identity_provider_of(org).enabled:
        sso.enable_identity_provider(org=org, certificate=None, acting_user=None)
    sp = ServiceProvider.objects.create(
        organization=org,
        name="Sample app",
        entity_id=f"https://app.example.test/{ServiceProvider.objects.count()}",
        acs_url="https://app.example.test/acs",
    )
    return str(sp.uuid)


def _acme_account(org: Organization) -> str:
    """An ACME account not registered yet (its CA, port 9 on this machine, is unreachable:
    the register, rollover and deactivate buttons answer with the refusal in words)."""
    from certadmin.services.acme import accounts

    account = accounts.create_account(
        org=org,
        label=f"Sample {org.acme_accounts.count()}",
        directory_url="https://127.0.0.1:9/directory",
        acting_user=None,
    )
    return str(account.uuid)


def _acme_order(org: Organization) -> str:
    """A failed ACME order (no CA needed)."""
    from certadmin.models import AcmeAccount, AcmeOrder

    account = AcmeAccount.objects.get(uuid=_acme_account(org))
    order = AcmeOrder.objects.create(
        organization=org,
        account=account,
        purpose=AcmeOrder.Purpose.NEW,
        unique_name="Sample",
        domains=["sample.example.test"],
        challenge="http-01",
        status=AcmeOrder.Status.FAILED,
        error="The CA is unreachable (sample).",
    )
    return str(order.uuid)


# Keyword arguments of URLs outside an org: a password-reset link that is not valid, a help page.
OUTSIDE_ORG_SAMPLES: dict[str, str | Callable[[], str]] = {
    "challenge_token": lambda: _challenge_token(),  # made when asked: it needs the database
    "uidb64": "MQ",
    "token": "not-a-valid-token",
    "page": "users",  # a help page
}


def _channel(org: Organization) -> str:
    """A webhook channel posting to a closed local port ("Send test" fails at once)."""
    from notifications.services import channels

    channel = channels.create_channel(
        org=org,
        data=channels.ChannelSettings(
            name=f"Sample {org.notification_channels.count()}",
            format="json",
            url="http://127.0.0.1:1/hook",
        ),
        acting_user=None,
    )
    return str(channel.uuid)


SAMPLES: dict[str, Callable[[Organization], str]] = {
    "sp": _sp,
    "channel": _channel,
    "credential": _credential,
    "acme_account": _acme_account,
    "acme_order": _acme_order,
    "sso": _sso,
    "mutual_auth": _mutual_auth,
    "token": _token,
    "member": _member,
    "pset": _pset,
    "profile": _profile,
    "certificate": _certificate,
    "key_version": _key_version,
    "encrypted_field": _encrypted_field,
    "contact": _contact,
}


def _challenge_token() -> str:
    """The http-01 token of a pending order of a new org: the CA's request needs no login."""
    from certadmin.models import AcmeChallenge, AcmeOrder

    org = conftest.make_org(f"Challenge {Organization.objects.count()}")
    order = AcmeOrder.objects.get(uuid=_acme_order(org))
    order.status = AcmeOrder.Status.VALIDATING
    order.save(update_fields=["status"])
    token = f"sample-token-{order.pk}"
    AcmeChallenge.objects.create(
        order=order, domain="sample.example.test", token=token, validation=f"{token}.thumbprint"
    )
    return token
