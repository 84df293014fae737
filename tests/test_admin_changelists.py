"""The superuser admin's lists never read a secret they do not show (issue 14).

Every changelist of the project is opened with one object of each kind in the database; the
SQL it runs must not select a sealed key or a PEM chain or request, of its own model or of a
model it joins (list_select_related). Change pages still read the whole row.
"""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import connection, models
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from certadmin.models import IdentityProvider
from keys.fields import SealedBinaryField
from orgs.models import Organization
from tests.certadmin.conftest import self_signed
from tests.certadmin.sso_helpers import make_config
from tests.url_samples import SAMPLES


def _sealed_columns() -> set[str]:
    """Quoted column names of every sealed key and every PEM text of the project."""
    return {
        connection.ops.quote_name(field.column)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, SealedBinaryField)
        or (isinstance(field, models.TextField) and field.name.endswith("_pem"))
    }


@pytest.fixture
def root_client(client: Client, acme: Organization) -> Client:
    for make in SAMPLES.values():  # one of everything, the retired proxy certificate too
        make(acme)
    certificate = self_signed(acme, name="Signing", key_type="RSA-2048")
    make_config(acme, "Okta", signer=certificate, decrypter=certificate)
    IdentityProvider.objects.update_or_create(
        organization=acme, defaults={"enabled": True, "certificate": certificate}
    )
    client.force_login(User.objects.create_superuser("root", "r@example.test", "pw-root-12345"))
    return client


def test_no_changelist_selects_a_sealed_key_chain_or_request(root_client: Client) -> None:
    sealed = _sealed_columns()
    assert {'"private_key"', '"material"', '"chain_pem"', '"csr_pem"'} <= sealed
    read: dict[str, list[str]] = {}
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        with CaptureQueriesContext(connection) as captured:
            response = root_client.get(url)
        assert response.status_code == 200, url
        columns = {c for q in captured.captured_queries for c in sealed if f".{c}" in q["sql"]}
        if columns:
            read[url] = sorted(columns)

    assert read == {}


def test_certificate_changelist_still_lists_and_its_change_page_shows_the_chain(
    root_client: Client, acme: Organization
) -> None:
    certificate = self_signed(acme, name="Listed_Cert")

    listed = root_client.get("/admin/certadmin/certificate/?o=1")
    change = root_client.get(f"/admin/certadmin/certificate/{certificate.pk}/change/")

    assert "Listed_Cert" in listed.content.decode()
    assert "-----BEGIN CERTIFICATE-----" in change.content.decode()
    assert "PRIVATE KEY" not in change.content.decode()
