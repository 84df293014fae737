"""The filter links of the Certificate and Key Management page and the API's list parameters
narrow the list in one place (CertificateQuerySet.filtered): each link and its API parameters
list the same certificates."""

import json
import re
from datetime import timedelta
from typing import get_args

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from certadmin.forms.certificates import FILTERS
from certadmin.models import Certificate, IdentityProvider
from certadmin.querysets import ORDERINGS, CertificateFilter, Ordering
from certadmin.views.certificates import PAGE_FILTERS
from orgs.models import Organization
from tests.api.conftest import api_get
from tests.certadmin.conftest import ca_signed, self_signed
from tests.certadmin.sso_helpers import make_config

# Each filter link of the page, and the API query that asks the same.
SAME_QUESTION = {
    "": {},
    "expired": {"expired": "true"},
    "10": {"expiring_within_days": "10"},
    "30": {"expiring_within_days": "30"},
    "60": {"expiring_within_days": "60"},
    "awaiting": {"status": "awaiting_signature"},
    "self_signed": {"type": "self_signed"},
    "ca_signed": {"type": "ca_signed"},
    "sso": {"used_by": "sso"},
    "idp": {"used_by": "idp"},
}
NAMES = ["Expired", "In_5_Days", "In_20_Days", "In_45_Days", "Next_Year", "Web_Server"]


@pytest.fixture
def certificates(acme: Organization) -> None:
    now = timezone.now()
    found = {}
    for name, days in [("Expired", -3), ("In_5_Days", 5), ("In_20_Days", 20), ("In_45_Days", 45)]:
        found[name] = cert = self_signed(acme, name)
        Certificate.objects.filter(pk=cert.pk).update(not_after=now + timedelta(days=days))
    next_year = self_signed(acme, "Next_Year")
    ca_signed(acme, "Web_Server")
    make_config(acme, signer=found["In_20_Days"], decrypter=next_year)
    IdentityProvider.objects.create(organization=acme, enabled=True, certificate=found["Expired"])


def test_every_filter_link_of_the_page_has_its_api_question() -> None:
    assert set(SAME_QUESTION) == set(FILTERS) == set(PAGE_FILTERS)


@pytest.mark.usefixtures("certificates")
@pytest.mark.parametrize("key", list(SAME_QUESTION))
def test_the_page_and_the_api_list_the_same_certificates(
    alice_client: Client, acme: Organization, alice_token: str, key: str
) -> None:
    page = alice_client.get(
        reverse("certadmin:certificate-list", args=[acme.public_id]), {"filter": key}
    )
    url = reverse("api:certificate-list", args=[acme.public_id])
    api = api_get(client=Client(), url=url, token=alice_token, data=SAME_QUESTION[key])

    on_page = {name for name in NAMES if re.search(rf"<td>{name}</td>", page.content.decode())}
    in_api = {c["unique_name"] for c in json.loads(api.content)["results"]}

    assert page.status_code == 200
    assert on_page == in_api
    assert in_api  # every filter matches something here, so an empty page proves nothing


def test_filtered_takes_every_criterion_at_once(acme: Organization) -> None:
    now = timezone.now()
    cert = self_signed(acme, "Payments_Signing")
    self_signed(acme, "Other")
    ca_signed(acme, "Web_Server")

    criteria = CertificateFilter(
        kind="self_signed",
        status="active",
        expired=False,
        expiring_within_days=400,
        expires_after=now,
        expires_before=now + timedelta(days=400),
        search="payments",
    )

    assert list(Certificate.objects.filtered(criteria, now=now)) == [cert]
    assert Certificate.objects.filtered(CertificateFilter(), now=now).count() == 3
    assert not Certificate.objects.filtered(CertificateFilter(expired=True), now=now).exists()


def test_every_ordering_can_be_asked_for() -> None:
    assert set(get_args(Ordering)) == set(ORDERINGS)
