"""The superuser admin's lists and pages read as words (issue 15): the time-zone filter offers
the zones in use, guardian's AnonymousUser is not made, permissions and subjects are not JSON."""

import importlib

import pytest
from django.apps import apps as installed_apps
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from certadmin.services import certificates
from orgs.models import Organization
from orgs.services import organizations, profiles


@pytest.fixture
def root_client(client: Client, db: None) -> Client:
    client.force_login(User.objects.create_superuser("root", "root@example.test", "unused"))
    return client


def test_time_zone_filter_offers_the_zones_in_use(root_client: Client, acme: Organization) -> None:
    organizations.create_organization(name="Tokyo office", time_zone="Asia/Tokyo", acting_user=None)

    response = root_client.get(reverse("admin:orgs_organization_changelist"))

    filters = [
        choice["display"]
        for spec in response.context["cl"].filter_specs
        for choice in spec.choices(response.context["cl"])
    ]
    assert filters == ["All", "Asia/Tokyo", "UTC"]
    filtered = root_client.get(
        reverse("admin:orgs_organization_changelist"), {"time_zone": "Asia/Tokyo"}
    )
    assertContains(filtered, "Tokyo office")
    assertNotContains(filtered, "Acme")


def test_no_anonymous_user_is_made_by_migrate(root_client: Client) -> None:
    response = root_client.get(reverse("admin:auth_user_changelist"))

    assert not User.objects.filter(username="AnonymousUser").exists()
    assertNotContains(response, "AnonymousUser")


def test_the_migration_removes_guardians_anonymous_user_only(db: None) -> None:
    made = User.objects.create(username="AnonymousUser", password="!unusable")
    real = User.objects.create_user("anonymous-looking", password="x")
    migration = importlib.import_module("orgs.migrations.0005_remove_guardian_anonymous_user")

    migration.remove_anonymous_user(installed_apps, connection.schema_editor())

    assert not User.objects.filter(pk=made.pk).exists()
    assert User.objects.filter(pk=real.pk).exists()


def test_profile_permissions_are_labels(root_client: Client, acme: Organization) -> None:
    profile = profiles.standard_profile(acme, "System Administrator")

    response = root_client.get(reverse("admin:orgs_profile_change", args=[profile.pk]))

    assertContains(response, "Manage Certificates, Manage Encryption Keys, Modify All Data")
    assertNotContains(response, "manage_certificates")


def test_certificate_subject_is_words(root_client: Client, acme: Organization) -> None:
    certificate = certificates.create_ca_signed(
        org=acme,
        label="Payments",
        unique_name="Payments",
        subject=certificates.SubjectFields(common_name="pay.acme.test", country="DE"),
        acting_user=None,
    )

    response = root_client.get(reverse("admin:certadmin_certificate_change", args=[certificate.pk]))

    assertContains(response, "Common Name: pay.acme.test; Country: DE")
    assertNotContains(response, "&quot;common_name&quot;")


def test_favicon_is_served_and_linked(client: Client, alice: User, acme: Organization) -> None:
    client.force_login(alice)

    icon = client.get("/favicon.ico")
    page = client.get(reverse("orgs:setup-home", args=[acme.public_id]))

    assert icon.status_code == 200
    assert icon["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assertContains(page, 'rel="icon"')
