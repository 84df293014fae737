"""Automatic renewal against pebble: planned at a third of the lifetime left, a new key, every
use switched in one step, audited; expiration notices held back while renewal is on track."""

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certadmin.crypto import keypairs
from certadmin.models import AcmeAccount, AcmeCertificate, Certificate
from certadmin.services import certificates
from certadmin.services.acme import orders, renewal
from notifications.services import send_expiry_notices
from orgs.models import AuditEvent, Organization
from tests.certadmin.sso_helpers import make_config


def obtain(
    account: AcmeAccount, org: Organization, name: str, key_type: str = "RSA-2048"
) -> Certificate:
    order = orders.start_new_certificate(
        org=org,
        account=account,
        label=name,
        unique_name=name,
        domains=[f"{name.lower()}.acme.test"],
        key_type=key_type,
        acting_user=None,
        enqueue=False,
    )
    orders.run_order(order)
    assert order.result is not None
    return order.result


def due_time(certificate: Certificate) -> datetime:
    """A moment just past a third of the lifetime left."""
    assert certificate.not_before
    assert certificate.not_after
    lifetime = certificate.not_after - certificate.not_before
    return certificate.not_after - lifetime / 3 + timedelta(minutes=1)


def test_renewal_is_planned_at_a_third_of_the_lifetime_left(
    account: AcmeAccount, acme: Organization
) -> None:
    certificate = obtain(account, acme, "Api", key_type="EC-P256")
    due = due_time(certificate)

    assert renewal.plan_renewals(now=due - timedelta(minutes=2)) == {}
    assert renewal.plan_renewals(now=due) == {acme.pk: [certificate.acme]}


def test_renewal_switches_every_use_to_a_new_key_in_one_step(
    account: AcmeAccount, acme: Organization, alice: User
) -> None:
    old = obtain(account, acme, "Sso")
    config = make_config(acme, "Okta", signer=old)
    now = due_time(old)

    run = renewal.renew_due(now=now)

    assert run.failed == []
    assert len(run.renewed) == 1
    config.refresh_from_db()
    new = config.request_signing_certificate
    assert new is not None
    assert new.pk != old.pk
    assert new.label == old.label
    old.refresh_from_db()
    assert old.replaced_by == new
    assert keypairs.private_key_to_der(certificates.load_private_key(new)) != (
        keypairs.private_key_to_der(certificates.load_private_key(old))
    )
    assert new.not_after
    assert old.not_after
    assert new.not_after > old.not_after
    renew_after_before = old.not_after - (old.not_after - old.not_before) / 3  # type: ignore[operator]
    tracked = AcmeCertificate.objects.get()
    assert tracked.certificate == new
    assert tracked.failures == 0
    assert tracked.renew_after
    assert tracked.renew_after > renew_after_before
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "renewedAcmeCert" in actions
    assert "switchedCertUse" in actions


def test_keeps_the_key_when_asked(account: AcmeAccount, acme: Organization) -> None:
    old = obtain(account, acme, "Keep", key_type="EC-P256")
    renewal.update_renewal_settings(
        acme_cert=old.acme, auto_renew=True, renew_fraction=0.5, new_key=False, acting_user=None
    )

    new = renewal.renew(acme_cert=AcmeCertificate.objects.get(), now=due_time(old))

    assert keypairs.private_key_to_der(certificates.load_private_key(new)) == (
        keypairs.private_key_to_der(certificates.load_private_key(old))
    )


def test_expiry_notices_wait_while_renewal_is_on_track_and_resume_when_it_fails(
    account: AcmeAccount, acme: Organization, alice: User
) -> None:
    certificate = obtain(account, acme, "Notice", key_type="EC-P256")
    assert certificate.not_after is not None
    day_before = certificate.not_after - timedelta(hours=2)

    send_expiry_notices(now=day_before)
    assert mail.outbox == []

    account.directory_url = "https://127.0.0.1:9/dir"  # the CA is gone
    account.save()
    with pytest.raises(Exception, match="unreachable"):
        renewal.renew(acme_cert=AcmeCertificate.objects.get(), now=day_before)
    mail.outbox.clear()  # the renewal-failure email (its own test)
    send_expiry_notices(now=day_before)

    assert [m.subject for m in mail.outbox] == ["Expiring Certificate Notification"]


def test_acme_renew_command_dry_run_lists_and_changes_nothing(
    account: AcmeAccount, acme: Organization, settings: object
) -> None:
    certificate = obtain(account, acme, "Cmd", key_type="EC-P256")
    AcmeCertificate.objects.update(renew_after=certificate.not_before)  # due now
    out = StringIO()

    call_command("acme_renew", "--org", acme.public_id, "--dry-run", stdout=out)

    assert f"due: {acme.name}: Cmd" in out.getvalue()
    assert Certificate.objects.count() == 1
    call_command("acme_renew", stdout=out)
    assert "renewed: Cmd -> Cmd_" in out.getvalue()
    assert Certificate.objects.count() == 2


def test_planning_costs_one_query_however_many_are_due(
    account: AcmeAccount, acme: Organization, globex: Organization
) -> None:
    certificate = obtain(account, acme, "Plan", key_type="EC-P256")
    tracked = AcmeCertificate.objects.get()
    due = due_time(certificate)

    with CaptureQueriesContext(connection) as one:
        renewal.plan_renewals(now=due)
    clones = []
    for n in range(30):
        clone = Certificate.objects.get(pk=certificate.pk)
        clone.pk, clone.id, clone.uuid = None, None, __import__("uuid").uuid4()
        clone.unique_name = f"Plan_{n}"
        clone.organization = acme if n % 2 else globex
        clone.save()
        clones.append(
            AcmeCertificate(
                organization=clone.organization,
                certificate=clone,
                account=account,
                domains=tracked.domains,
                challenge=tracked.challenge,
                renew_after=tracked.renew_after,
            )
        )
    AcmeCertificate.objects.bulk_create(clones)
    with CaptureQueriesContext(connection) as many:
        planned = renewal.plan_renewals(now=due)

    assert sum(len(v) for v in planned.values()) == 31
    assert len(many) == len(one) == 1
