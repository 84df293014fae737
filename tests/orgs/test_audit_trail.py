import csv
import io
from datetime import timedelta

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from orgs.models import AuditEvent, Organization
from orgs.services.audit import record_audit
from tests.factories import UserFactory


def test_newest_change_comes_first(alice_client: Client, acme: Organization, alice: User) -> None:
    record_audit(org=acme, acting_user=alice, section="S", action="a", message="First change")
    record_audit(org=acme, acting_user=alice, section="S", action="a", message="Second change")

    response = alice_client.get(reverse("orgs:audit-trail", args=[acme.public_id]))

    body = response.content.decode()
    assert body.index("Second change") < body.index("First change")


def test_shows_only_the_last_six_months(alice_client: Client, acme: Organization) -> None:
    old = record_audit(
        org=acme, acting_user=None, section="S", action="a", message="Ancient change"
    )
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=200))

    response = alice_client.get(reverse("orgs:audit-trail", args=[acme.public_id]))

    assertNotContains(response, "Ancient change")


def test_shows_no_other_orgs_changes(
    alice_client: Client, acme: Organization, globex: Organization
) -> None:
    record_audit(
        org=globex, acting_user=None, section="S", action="a", message="Globex secret plan"
    )

    response = alice_client.get(reverse("orgs:audit-trail", args=[acme.public_id]))

    assertNotContains(response, "Globex secret plan")


def test_jobs_are_recorded_as_system(alice_client: Client, acme: Organization) -> None:
    record_audit(org=acme, acting_user=None, section="Jobs", action="a", message="Nightly job ran")

    response = alice_client.get(reverse("orgs:audit-trail", args=[acme.public_id]))

    assertContains(response, "system")


def test_is_paginated(alice_client: Client, acme: Organization) -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(organization=acme, actor_name="system", section="S", action="a", message=f"m{i}")
        for i in range(120)
    )

    response = alice_client.get(reverse("orgs:audit-trail", args=[acme.public_id]))

    assertContains(response, "Page 1 of 3")


def test_csv_download_has_every_row_and_neutralises_formulas(
    alice_client: Client, acme: Organization, alice: User
) -> None:
    record_audit(org=acme, acting_user=alice, section="S", action="a", message="=HYPERLINK(1)")
    record_audit(org=acme, acting_user=alice, section="S", action="a", message="Plain change")

    response = alice_client.get(reverse("orgs:audit-trail-csv", args=[acme.public_id]))

    assert response["Content-Type"].startswith("text/csv")
    assert acme.public_id in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["Date", "User", "Section", "Action", "Description"]
    descriptions = [row[4] for row in rows[1:]]
    assert "Plain change" in descriptions
    assert "'=HYPERLINK(1)" in descriptions


def test_csv_neutralises_every_column(alice_client: Client, acme: Organization) -> None:
    """A username is a valid Django username and still a formula (issue 13)."""
    actor = UserFactory(username="-2+3+cmd")
    record_audit(org=acme, acting_user=actor, section="@SUM(1)", action="+1", message="=1+1")

    response = alice_client.get(reverse("orgs:audit-trail-csv", args=[acme.public_id]))

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][1:] == ["'-2+3+cmd", "'@SUM(1)", "'+1", "'=1+1"]
