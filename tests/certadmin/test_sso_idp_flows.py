"""The org's Identity Provider logging members in to other applications (issue 16), with a
pysaml2 service provider as the other side and xmlsec1 verifying what we sign."""

import base64
import html
import re
import warnings
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from certadmin import saml
from certadmin.crypto import display
from certadmin.models import IdpAnsweredRequest, ServiceProvider
from certadmin.services import sso as sso_services
from orgs.models import AuditEvent, Organization
from orgs.services.members import add_member
from tests.certadmin import saml_peers as peers
from tests.certadmin.sso_helpers import fast_rsa, xmlsec1_verify  # noqa: F401
from tests.conftest import grant

pytestmark = pytest.mark.usefixtures("fast_rsa")
RESPONSE_NODE = "urn:oasis:names:tc:SAML:2.0:protocol:Response"


@pytest.fixture
def sp(acme: Organization, alice: User) -> ServiceProvider:
    sso_services.enable_identity_provider(org=acme, certificate=None, acting_user=None)
    alice.email = "alice@acme.test"
    alice.save()
    return ServiceProvider.objects.create(
        organization=acme,
        name="Wiki",
        entity_id=peers.SP_ENTITY_ID,
        acs_url=peers.SP_ACS_URL,
        certificate_pem=display.certificate_pem(peers.sp_key_and_certificate()[1]),
        subject=ServiceProvider.Subject.EMAIL,
        name_id_format=ServiceProvider.NameIdFormat.EMAIL,
        attribute_mapping={"mail": "email", "uid": "username"},
    )


def idp_metadata(org: Organization) -> bytes:
    """Our metadata as the admin downloads it (its entity id names the host of the request,
    as the SingleSignOnService's answers will)."""
    admin = User.objects.create(username=f"metadata-admin-{User.objects.count()}")
    add_member(org=org, user=admin, acting_user=None)
    grant(org, admin, "customize_application")
    client = Client()
    client.force_login(admin)
    response = client.get(reverse("certadmin:idp-metadata", args=[org.public_id]))
    assert response.status_code == 200
    return bytes(response.content)


def posted(page: str) -> tuple[str, str]:
    """(action, SAMLResponse) of our auto-post page."""
    action = html.unescape(
        re.search(r'<form method="post" action="([^"]+)" id="saml-post"', page).group(1)
    )  # type: ignore[union-attr]
    value = re.search(r'name="SAMLResponse" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    return action, value


def consume(client_sp: object, response: str, outstanding: dict[str, str]) -> object:
    from saml2 import BINDING_HTTP_POST

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return client_sp.parse_authn_request_response(  # type: ignore[attr-defined]
            response, BINDING_HTTP_POST, outstanding=outstanding
        )


@pytest.mark.parametrize("encrypt", [False, True], ids=["signed", "signed-and-encrypted"])
def test_pysaml2_sp_logs_alice_in_through_our_idp(
    client: Client, acme: Organization, alice: User, sp: ServiceProvider, encrypt: bool
) -> None:
    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.xmldsig import SIG_RSA_SHA256

    sp.encrypt_assertions = encrypt
    sp.save()
    app = peers.pysaml2_sp(idp_metadata(acme))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        request_id, info = app.prepare_for_authenticate(
            relay_state="/wiki/page", binding=BINDING_HTTP_REDIRECT, sigalg=SIG_RSA_SHA256
        )
    location = dict(info["headers"])["Location"]
    client.force_login(alice)

    page = client.get(urlsplit(location).path + "?" + urlsplit(location).query)

    assert page.status_code == 200, page.content.decode()[:2000]
    action, value = posted(page.content.decode())
    assert action == peers.SP_ACS_URL
    assert 'name="RelayState" value="/wiki/page"' in page.content.decode()
    document = base64.b64decode(value)
    assert (b"EncryptedAssertion" in document) is encrypt
    ok, output = xmlsec1_verify(
        document,
        sso_services.certificate_pem(sso_services.identity_provider_of(acme).certificate),
        RESPONSE_NODE,  # type: ignore[arg-type]
    )
    assert ok, output
    answer = consume(app, value, {request_id: "/"})
    assert answer.name_id.text == "alice@acme.test"  # type: ignore[attr-defined]
    statement = answer.assertion.attribute_statement[0]  # type: ignore[attr-defined]
    values = {a.name: [v.text for v in a.attribute_value] for a in statement.attribute}
    assert values == {"mail": ["alice@acme.test"], "uid": ["alice"]}
    assert AuditEvent.objects.filter(organization=acme, action="idpLogin").count() == 1


def test_idp_initiated_login_is_accepted_by_pysaml2_sp(
    client: Client, acme: Organization, alice: User, sp: ServiceProvider
) -> None:
    app = peers.pysaml2_sp(idp_metadata(acme))
    client.force_login(alice)

    page = client.get(reverse("idp-initiated", args=[acme.public_id, sp.uuid]))

    assert page.status_code == 200
    _, value = posted(page.content.decode())
    answer = consume(app, value, {})
    assert answer.name_id.text == "alice@acme.test"  # type: ignore[attr-defined]


def test_unsigned_request_is_refused_when_the_sp_has_a_certificate(
    client: Client, acme: Organization, alice: User, sp: ServiceProvider
) -> None:
    from saml2 import BINDING_HTTP_REDIRECT

    app = peers.pysaml2_sp(idp_metadata(acme))
    app.config.authn_requests_signed = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, info = app.prepare_for_authenticate(binding=BINDING_HTTP_REDIRECT, sign=False)
    location = dict(info["headers"])["Location"]
    client.force_login(alice)

    page = client.get(urlsplit(location).path + "?" + urlsplit(location).query)

    assert page.status_code == 400
    assert "The request is not signed." in page.content.decode()
    assert AuditEvent.objects.filter(organization=acme, action="idpLoginRefused").exists()


def test_request_signed_by_another_key_is_refused(
    client: Client, acme: Organization, alice: User, sp: ServiceProvider
) -> None:
    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.xmldsig import SIG_RSA_SHA256

    other = display.certificate_pem(peers.other_key_and_certificate()[1])
    ServiceProvider.objects.filter(pk=sp.pk).update(certificate_pem=other)
    app = peers.pysaml2_sp(idp_metadata(acme))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, info = app.prepare_for_authenticate(binding=BINDING_HTTP_REDIRECT, sigalg=SIG_RSA_SHA256)
    location = dict(info["headers"])["Location"]
    client.force_login(alice)

    page = client.get(urlsplit(location).path + "?" + urlsplit(location).query)

    assert page.status_code == 400
    assert "signature does not verify" in page.content.decode()


def test_unknown_service_provider_is_refused(
    client: Client, acme: Organization, alice: User, sp: ServiceProvider
) -> None:
    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.xmldsig import SIG_RSA_SHA256

    app = peers.pysaml2_sp(idp_metadata(acme))
    sp.delete()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, info = app.prepare_for_authenticate(binding=BINDING_HTTP_REDIRECT, sigalg=SIG_RSA_SHA256)
    location = dict(info["headers"])["Location"]
    client.force_login(alice)

    page = client.get(urlsplit(location).path + "?" + urlsplit(location).query)

    assert page.status_code == 400
    assert "No service provider with the Entity ID" in page.content.decode()


def test_anonymous_request_waits_for_the_login(
    client: Client, acme: Organization, sp: ServiceProvider
) -> None:
    url = reverse("idp-sso", args=[acme.public_id]) + "?SAMLRequest=abc"

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_second_encoded_saml_request_beside_the_signed_one_is_refused(
    client: Client, acme: Organization, alice: User, sp: ServiceProvider
) -> None:
    """Signature bypass: appending `SAML%52equest=<anything>&Relay%53tate=<anything>` to a
    signed URL must not make us answer the unsigned request (Django would read the last one)."""
    import zlib
    from urllib.parse import quote

    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.xmldsig import SIG_RSA_SHA256

    app = peers.pysaml2_sp(idp_metadata(acme))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, info = app.prepare_for_authenticate(binding=BINDING_HTTP_REDIRECT, sigalg=SIG_RSA_SHA256)
    location = urlsplit(dict(info["headers"])["Location"])
    forged = (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_attacker_chosen" '
        f'Version="2.0"><saml:Issuer>{peers.SP_ENTITY_ID}</saml:Issuer></samlp:AuthnRequest>'
    ).encode()
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    value = base64.b64encode(deflate.compress(forged) + deflate.flush()).decode()
    client.force_login(alice)

    for extra in ("SAML%52equest", "SAMLRequest"):
        query = (
            f"{location.query}&{extra}={quote(value, safe='')}&Relay%53tate=https%3A//evil.test/"
        )
        response = client.get(f"{location.path}?{query}")
        page = response.content.decode()

        assert response.status_code == 400, page[:2000]
        assert "gives SAMLRequest twice" in page
        assert "SAMLResponse" not in page
        assert "evil.test" not in page


# --- found in review (2026-12-07): Destination, IssueInstant, each request answered once -------


def sso_url(org: Organization) -> str:
    """Our SingleSignOnService as the test client reaches it (the metadata's URL)."""
    return "http://testserver" + reverse("idp-sso", args=[org.public_id])


def crafted_request(
    org: Organization,
    *,
    issue_instant: datetime | None = None,
    destination: str | None = None,
    without: str = "",
) -> bytes:
    """An AuthnRequest of the registered SP, every value right unless overridden; `without`
    names an attribute left out."""
    xml = saml.authn_request_unsigned(
        request_id=saml.new_id(),
        issuer=peers.SP_ENTITY_ID,
        destination=destination or sso_url(org),
        acs_url=peers.SP_ACS_URL,
        issue_instant=issue_instant or timezone.now(),
    )
    if not without:
        return xml
    root = etree.fromstring(xml)
    del root.attrib[without]
    return bytes(etree.tostring(root))


def signed_redirect(org: Organization, message: bytes) -> str:
    """The path and query of an HTTP-Redirect request signed with the SP's key."""
    url = saml.redirect_url(
        location=sso_url(org),
        message=message,
        relay_state="",
        key=peers.sp_key_and_certificate()[0],  # type: ignore[arg-type]
    )
    return url.removeprefix("http://testserver")


def refused(response: HttpResponse, reason: str) -> None:
    page = html.unescape(response.content.decode())
    assert response.status_code == 400, page[:2000]
    assert reason in page, page[:2000]
    assert "SAMLResponse" not in page
    event = AuditEvent.objects.filter(action="idpLoginRefused").latest("id")
    assert reason in event.message


def test_a_captured_signed_request_is_answered_once(
    client: Client, acme: Organization, alice: User, sp: ServiceProvider
) -> None:
    """A signed request link shown again (history, a proxy log, a Referer) logs nobody in."""
    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.xmldsig import SIG_RSA_SHA256

    app = peers.pysaml2_sp(idp_metadata(acme))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, info = app.prepare_for_authenticate(binding=BINDING_HTTP_REDIRECT, sigalg=SIG_RSA_SHA256)
    location = urlsplit(dict(info["headers"])["Location"])
    client.force_login(alice)
    assert client.get(f"{location.path}?{location.query}").status_code == 200

    again = client.get(f"{location.path}?{location.query}")

    refused(again, "This request was already answered. Go back to Wiki and log in again.")
    assert AuditEvent.objects.filter(organization=acme, action="idpLogin").count() == 1


def test_a_signed_post_request_is_answered_once(
    client: Client, acme: Organization, alice: User, sp: ServiceProvider
) -> None:
    key, cert = peers.sp_key_and_certificate()
    root = etree.fromstring(crafted_request(acme))
    body = saml.sign(root, key=key, chain=[cert], position=1)  # type: ignore[arg-type]
    form = {"SAMLRequest": base64.b64encode(body).decode()}
    client.force_login(alice)
    path = reverse("idp-sso", args=[acme.public_id])
    assert client.post(path, form).status_code == 200

    refused(client.post(path, form), "This request was already answered.")


def test_a_request_addressed_to_another_identity_provider_is_refused(
    client: Client, acme: Organization, alice: User, sp: ServiceProvider
) -> None:
    message = crafted_request(acme, destination="https://other-idp.example.test/sso")
    client.force_login(alice)

    response = client.get(signed_redirect(acme, message))

    refused(
        response,
        f"its Destination is not this Identity Provider's Single Sign-On URL, {sso_url(acme)}.",
    )
    assert "other-idp.example.test" not in response.content.decode()


@pytest.mark.parametrize(
    ("age", "reason"),
    [
        (timedelta(minutes=8), "The request is more than 5 minutes old. Go back to Wiki"),
        (-timedelta(minutes=3), "The request was issued in the future"),
    ],
    ids=["stale", "future"],
)
def test_a_request_issued_outside_its_few_minutes_is_refused(
    client: Client,
    acme: Organization,
    alice: User,
    sp: ServiceProvider,
    age: timedelta,
    reason: str,
) -> None:
    message = crafted_request(acme, issue_instant=timezone.now() - age)
    client.force_login(alice)

    refused(client.get(signed_redirect(acme, message)), reason)


@pytest.mark.parametrize(
    "age", [timedelta(minutes=6), -timedelta(minutes=1)], ids=["6-min", "future-1-min"]
)
def test_the_clock_skew_is_allowed_either_way(
    client: Client, acme: Organization, alice: User, sp: ServiceProvider, age: timedelta
) -> None:
    """5 minutes to answer, and the 2 minutes the SP side allows between clocks (CLOCK_SKEW)."""
    message = crafted_request(acme, issue_instant=timezone.now() - age)
    client.force_login(alice)

    assert client.get(signed_redirect(acme, message)).status_code == 200


@pytest.mark.parametrize(
    ("without", "reason"),
    [
        ("IssueInstant", "The request has no IssueInstant."),
        ("Destination", ""),  # optional (SAML core 3.2.1): answered
    ],
)
def test_issue_instant_is_required_destination_is_not(
    client: Client, acme: Organization, alice: User, sp: ServiceProvider, without: str, reason: str
) -> None:
    client.force_login(alice)

    response = client.get(signed_redirect(acme, crafted_request(acme, without=without)))

    if reason:
        refused(response, reason)
    else:
        assert response.status_code == 200


def test_unsigned_requests_of_an_sp_without_certificate_get_the_same_checks(
    client: Client, acme: Organization, alice: User, sp: ServiceProvider
) -> None:
    """Anyone can forge those, so the checks only catch mistakes and stale links (docs/sso.md)."""
    ServiceProvider.objects.filter(pk=sp.pk).update(certificate_pem="")
    client.force_login(alice)
    stale = crafted_request(acme, issue_instant=timezone.now() - timedelta(minutes=8))
    other = crafted_request(acme, destination="https://other-idp.example.test/sso")
    path = reverse("idp-sso", args=[acme.public_id])

    for message in (stale, other):
        form = {"SAMLRequest": base64.b64encode(message).decode()}
        assert client.post(path, form).status_code == 400
    fresh = {"SAMLRequest": base64.b64encode(crafted_request(acme)).decode()}
    assert client.post(path, fresh).status_code == 200
    refused(client.post(path, fresh), "This request was already answered.")


def test_a_refused_answer_does_not_spend_the_request(
    client: Client, acme: Organization, alice: User, sp: ServiceProvider
) -> None:
    """Alice has no email yet (the NameID): once the admin sets it, the same request works."""
    User.objects.filter(pk=alice.pk).update(email="")
    client.force_login(alice)
    url = signed_redirect(acme, crafted_request(acme))
    refused(client.get(url), "Your Email is empty")
    User.objects.filter(pk=alice.pk).update(email="alice@acme.test")

    assert client.get(url).status_code == 200


def test_the_housekeeping_forgets_answered_requests_once_too_old_to_come_back(
    client: Client, acme: Organization, alice: User, sp: ServiceProvider
) -> None:
    from certadmin.services import idp

    client.force_login(alice)
    assert client.get(signed_redirect(acme, crafted_request(acme))).status_code == 200
    answered = IdpAnsweredRequest.objects.get(service_provider=sp)
    assert answered.expires_at > timezone.now() + timedelta(minutes=6)

    assert idp.prune_answered(now=timezone.now() + timedelta(minutes=6)) == 0
    assert idp.prune_answered(now=answered.expires_at + timedelta(seconds=1)) == 1
    assert not IdpAnsweredRequest.objects.exists()
