"""A certificate whose uses a replacement took over gets no more expiration notices (SPEC 4:
"a replacement that took over all its uses ... is suppressed"): Replace, Renew, and a partial
move that leaves the old certificate in charge of what it still signs.

alice: System Administrator of Acme, the only recipient while nobody holds the permission.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from certadmin.models import Certificate, SamlSsoConfig
from certadmin.services import certificates, replace
from notifications.models import ExpiryNotice
from notifications.services import send_expiry_notices
from orgs.models import Organization
from tests.certadmin.sso_helpers import fast_rsa, make_config, rsa_certificate  # noqa: F401
from tests.notifications.conftest import NOW, expected_line, in_days, warning_lines

pytestmark = pytest.mark.usefixtures("fast_rsa")
State = ExpiryNotice.State


def _expiring(org: Organization, name: str, days: int) -> Certificate:
    certificate = rsa_certificate(org, name)
    Certificate.objects.filter(pk=certificate.pk).update(not_after=in_days(days))
    certificate.refresh_from_db()
    return certificate


def _mentioned(outbox: list[EmailMultiAlternatives]) -> list[str]:
    return [line for message in outbox for line in warning_lines(message)]


def test_once_a_replacement_holds_every_use_the_old_certificate_is_not_notified(
    mailoutbox: list[EmailMultiAlternatives], acme: Organization, alice: User
) -> None:
    old = _expiring(acme, "Sso_Signing", 10)
    make_config(acme, "Okta", signer=old)
    make_config(acme, "Azure AD", signer=rsa_certificate(acme, "Other"), decrypter=old)
    send_expiry_notices(now=NOW)
    assert len(_mentioned(mailoutbox)) == 1  # the 10-day notice
    mailoutbox.clear()

    result = replace.replace_certificate(org=acme, old=old, acting_user=alice, now=NOW)
    for day in range(1, 12):  # through the 1-day and day-of notices it would have had
        send_expiry_notices(now=NOW + timedelta(days=day))

    assert mailoutbox == []
    old.refresh_from_db()
    assert (old.replaced_by, old.replaced_at) == (result.certificate, NOW)


def test_a_notice_waiting_for_a_retry_is_suppressed_when_the_certificate_is_replaced(
    mailoutbox: list[EmailMultiAlternatives], acme: Organization, alice: User
) -> None:
    old = _expiring(acme, "Sso_Signing", 10)
    make_config(acme, "Okta", signer=old)
    send_expiry_notices(now=NOW)
    # As if the mail server had refused it (the 60- and 30-day ones were superseded).
    ExpiryNotice.objects.filter(threshold=10).update(state=State.FAILED)
    mailoutbox.clear()

    replace.replace_certificate(org=acme, old=old, acting_user=alice, now=NOW)
    send_expiry_notices(now=NOW + timedelta(hours=1))

    assert mailoutbox == []
    notice = ExpiryNotice.objects.get(threshold=10)
    assert notice.state == State.SUPPRESSED
    assert "replaced by one that took over all its uses" in notice.last_error


def test_moving_only_some_uses_keeps_the_old_certificate_notified(
    mailoutbox: list[EmailMultiAlternatives], acme: Organization, alice: User
) -> None:
    old = _expiring(acme, "Sso_Signing", 10)
    moved = make_config(acme, "Okta", signer=old)
    make_config(acme, "Azure AD", signer=old)  # still signs with the old one

    replace.replace_certificate(org=acme, old=old, refs=[moved.uuid], acting_user=alice, now=NOW)
    send_expiry_notices(now=NOW)

    old.refresh_from_db()
    assert old.replaced_by is None
    assert _mentioned(mailoutbox) == [expected_line("Sso Signing", "Self-Signed", "2025-06-11", 10)]


def test_renewing_a_self_signed_certificate_stops_its_notices_and_says_so_on_its_page(
    mailoutbox: list[EmailMultiAlternatives],
    acme: Organization,
    alice: User,
    alice_client: Client,
) -> None:
    old = _expiring(acme, "Unused_Signing", 10)  # nothing uses it: Renew moves nothing

    renewal = replace.renew_certificate(
        certificate=old, label="Unused Signing", unique_name="Unused_Signing_2",
        acting_user=alice, now=NOW,
    )  # fmt: skip
    send_expiry_notices(now=NOW)

    assert mailoutbox == []
    page = alice_client.get(
        reverse("certadmin:certificate-detail", args=[acme.public_id, old.uuid])
    )
    assertContains(page, "Replaced By")
    assertContains(page, f'{renewal.certificate.uuid}/">Unused_Signing_2</a> took over')


def test_moving_the_uses_back_makes_the_old_certificate_current_again(
    mailoutbox: list[EmailMultiAlternatives], acme: Organization, alice: User
) -> None:
    old = _expiring(acme, "Sso_Signing", 10)
    make_config(acme, "Okta", signer=old)
    new = replace.replace_certificate(org=acme, old=old, acting_user=alice, now=NOW).certificate

    replace.replace_certificate(org=acme, old=new, new=old, acting_user=alice, now=NOW)
    send_expiry_notices(now=NOW)

    old.refresh_from_db()
    new.refresh_from_db()
    assert old.replaced_by is None
    assert new.replaced_by == old
    assert SamlSsoConfig.objects.get().request_signing_certificate == old
    assert len(_mentioned(mailoutbox)) == 1


def test_deleting_the_replacement_does_not_bring_the_notices_back(
    mailoutbox: list[EmailMultiAlternatives],
    acme: Organization,
    alice: User,
    alice_client: Client,
) -> None:
    old = _expiring(acme, "Unused_Signing", 10)
    renewal = replace.renew_certificate(
        certificate=old, label="Unused Signing", unique_name="Unused_Signing_2",
        acting_user=alice, now=NOW,
    )  # fmt: skip

    certificates.delete_certificate(certificate=renewal.certificate, acting_user=alice)
    send_expiry_notices(now=NOW)

    assert mailoutbox == []
    page = alice_client.get(
        reverse("certadmin:certificate-detail", args=[acme.public_id, old.uuid])
    )
    assertContains(page, "A certificate since deleted took over all its uses")


def test_a_replaced_certificate_used_again_gets_its_notices(
    mailoutbox: list[EmailMultiAlternatives],
    acme: Organization,
    alice: User,
    alice_client: Client,
) -> None:
    """Pointing a configuration back at it outside Replace (the SSO page) makes it current."""
    old = _expiring(acme, "Sso_Signing", 10)
    make_config(acme, "Okta", signer=old)
    replace.replace_certificate(org=acme, old=old, acting_user=alice, now=NOW)
    make_config(acme, "Azure AD", signer=old)

    send_expiry_notices(now=NOW)

    assert _mentioned(mailoutbox) == [expected_line("Sso Signing", "Self-Signed", "2025-06-11", 10)]
    page = alice_client.get(
        reverse("certadmin:certificate-detail", args=[acme.public_id, old.uuid])
    )
    assertNotContains(page, "Replaced By")
