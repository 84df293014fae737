"""What the Assertion Consumer Service writes into an org's audit trail when it refuses
(found in review, 2026-12-07): never the words of a post nobody signed, and a bounded number
of lines for the posts anyone can make, while every refusal of a signed response stays a line
of its own. Responses are crafted as in test_sso_login (signed with the IdP's real key)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from lxml import etree

from certadmin.models import SamlSsoConfig
from certadmin.saml import SAMLP
from certadmin.services import sso_refusals
from orgs.models import AuditEvent, Organization
from tests.certadmin import saml_peers as peers
from tests.certadmin.sso_helpers import fast_rsa, make_config, rsa_certificate
from tests.certadmin.test_sso_login import (
    _refused,
    _served_on_testserver,
    _valid,
    acs_path,
    config,
    login_url,
)

__all__ = ["_served_on_testserver", "config", "fast_rsa"]  # fixtures, used by name
pytestmark = pytest.mark.usefixtures("fast_rsa")
HOSTILE = "<b>Pay 1 BTC to bc1qattacker</b>"
GARBAGE = peers.post_value(b"not a SAML response")


def refusals(config: SamlSsoConfig) -> list[str]:
    return list(
        AuditEvent.objects.filter(organization=config.organization, action="samlLoginFailed")
        .order_by("id")
        .values_list("message", flat=True)
    )


def post(config: SamlSsoConfig, body: str, address: str = "203.0.113.7") -> int:
    """A post from an anonymous client at `address`: its status."""
    response = Client(REMOTE_ADDR=address).post(acs_path(config), {"SAMLResponse": body})
    assert "Traceback" not in response.content.decode()
    return response.status_code


def with_status(response: etree._Element, *values: str) -> etree._Element:
    """`response` with StatusCode `values[0]` (and a second-level `values[1]`)."""
    status = response.find(f"{{{SAMLP}}}Status")
    assert status is not None
    status.clear()
    parent = status
    for value in values:
        parent = etree.SubElement(parent, f"{{{SAMLP}}}StatusCode", Value=value)
    return response


# --- nothing an unsigned post says is repeated -----------------------------------------------


def test_the_issuer_of_an_unsigned_response_is_not_repeated(
    client: Client, config: SamlSsoConfig
) -> None:
    body = peers.post_value(_valid(client, config, issuer=HOSTILE))

    page = _refused(client, config, body, "wrong_issuer")

    assert "BTC" not in page
    assert not any("BTC" in message for message in refusals(config))
    assert (
        "The response (not signed, so its Issuer is not shown) comes from another issuer"
        in (refusals(config)[-1])
    )


def test_the_issuer_of_a_signed_response_is_named_for_the_admin(
    client: Client, config: SamlSsoConfig
) -> None:
    response = peers.sign_element(_valid(client, config, issuer="https://evil.example.test/idp"))

    page = _refused(client, config, peers.post_value(response), "wrong_issuer")

    assert "comes from &#x27;https://evil.example.test/idp&#x27;" in page


def test_an_unsigned_status_is_named_only_in_saml_s_own_words(
    client: Client, config: SamlSsoConfig
) -> None:
    """Identity providers often leave their error responses unsigned: the codes SAML defines
    are still named (they are our words), anything else is not."""
    failed = with_status(
        _valid(client, config),
        "urn:oasis:names:tc:SAML:2.0:status:Responder",
        "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed",
    )

    _refused(client, config, peers.post_value(failed), "idp_status")

    assert "(status Responder / AuthnFailed)." in refusals(config)[-1]


def test_a_status_saml_does_not_define_is_not_repeated_unsigned(
    client: Client, config: SamlSsoConfig
) -> None:
    hostile = with_status(_valid(client, config), HOSTILE)

    page = _refused(client, config, peers.post_value(hostile), "idp_status")

    assert "BTC" not in page
    assert "(status ?; codes SAML does not define are not shown)" in refusals(config)[-1]
    assert not any("BTC" in message for message in refusals(config))


def test_a_signed_status_is_named_whatever_it_is(client: Client, config: SamlSsoConfig) -> None:
    response = with_status(
        _valid(client, config),
        "urn:oasis:names:tc:SAML:2.0:status:Requester",
        "urn:example:idp:status:AccountLocked",
    )

    _refused(client, config, peers.post_value(peers.sign_element(response)), "idp_status")

    assert "(status Requester / urn:example:idp:status:AccountLocked)." in refusals(config)[-1]


# --- a bounded audit trail for posts anyone can make -----------------------------------------


def test_a_flood_of_garbage_writes_one_line_per_address_a_minute(config: SamlSsoConfig) -> None:
    statuses = [post(config, GARBAGE) for _ in range(20)]

    assert statuses == [400] * 20  # every post is still told why
    assert refusals(config) == [
        (
            "SAML login with Okta refused (malformed) from 203.0.113.7: The SAML response is "
            "not well-formed XML."
        )
    ]


def test_the_next_line_counts_the_refusals_left_out(config: SamlSsoConfig) -> None:
    for _ in range(5):
        post(config, GARBAGE)
    assert len(refusals(config)) == 1

    assert post(config, GARBAGE, address="198.51.100.9") == 400

    assert refusals(config)[-1] == (
        "SAML login with Okta refused (malformed) from 198.51.100.9 (4 other refusals of "
        "unsigned or unreadable posts not recorded before this one): The SAML response is not "
        "well-formed XML."
    )


def test_an_ipv6_client_counts_as_its_slash_64(config: SamlSsoConfig) -> None:
    """A host is given a /64 and can take a new address in it for every post."""
    for host in range(1, 6):
        post(config, GARBAGE, address=f"2001:db8:1:2::{host}")
    post(config, GARBAGE, address="2001:db8:1:3::1")

    assert [message.split(": ")[0] for message in refusals(config)] == [
        "SAML login with Okta refused (malformed) from 2001:db8:1:2::/64",
        (
            "SAML login with Okta refused (malformed) from 2001:db8:1:3::/64 (4 other refusals "
            "of unsigned or unreadable posts not recorded before this one)"
        ),
    ]


def test_many_addresses_write_at_most_sixty_lines_an_hour_per_configuration(
    config: SamlSsoConfig, acme: Organization
) -> None:
    other = make_config(acme, "Entra", signer=rsa_certificate(acme, "Entra_Signing"))
    for host in range(1, sso_refusals.PER_CONFIG_LINES + 6):
        post(config, GARBAGE, address=f"198.51.100.{host}")
    post(other, GARBAGE)

    assert len(refusals(config)) == sso_refusals.PER_CONFIG_LINES + 1  # Entra's is its own


def test_signed_responses_refused_are_each_audited(client: Client, config: SamlSsoConfig) -> None:
    """Only the identity provider can make those: a replay or a wrong audience matters each
    time, and none is left out."""
    for _ in range(3):
        response = peers.sign_element(_valid(client, config, audience="https://other.test"))
        assert post(config, peers.post_value(response)) == 403

    assert len(refusals(config)) == 3
    assert all("(wrong_audience): " in message for message in refusals(config))


def test_a_flood_of_login_starts_past_the_proxy_deadline_writes_one_line(
    acme: Organization, settings: object
) -> None:
    legacy = make_config(acme, "Legacy", legacy=True)
    settings.CERTADMIN_PROXY_DEADLINE = timezone.now() - timedelta(days=1)  # type: ignore[attr-defined]
    anonymous = Client(REMOTE_ADDR="203.0.113.7")

    statuses = [anonymous.get(login_url(legacy)).status_code for _ in range(10)]

    assert statuses == [403] * 10
    assert len(refusals(legacy)) == 1
    assert "(proxy_deadline) from 203.0.113.7" in refusals(legacy)[0]
