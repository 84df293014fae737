"""Logging in to certadmin with an org's identity provider (issue 16): round trips with a
pysaml2 IdP (signed response, signed assertion, encrypted assertion), and every attack the
issue lists, each refused with its reason, audited, and nobody logged in."""

import base64
import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from certadmin.models import SamlAuthnRequest, SamlSsoConfig
from certadmin.saml import SAML, SAMLP
from certadmin.services import sso as sso_services
from certadmin.services import sso_login
from orgs import links
from orgs.access import SSO_ORG_SESSION_KEY
from orgs.models import AuditEvent, Membership, Organization
from tests.certadmin import saml_peers as peers
from tests.certadmin.sso_helpers import fast_rsa, make_config, rsa_certificate  # noqa: F401
from tests.conftest import make_member

pytestmark = pytest.mark.usefixtures("fast_rsa")


def set_federation_id(org: Organization, user: User, value: str) -> None:
    Membership.objects.filter(organization=org, user=user).update(federation_id=value)


@pytest.fixture
def config(acme: Organization, alice: User) -> SamlSsoConfig:
    config = make_config(acme, "Okta", signer=rsa_certificate(acme))
    config.idp_entity_id = peers.IDP_ENTITY_ID
    config.idp_login_url = peers.IDP_LOGIN_URL
    config.idp_certificate_pem = peers.idp_certificate_pem()
    config.save()
    set_federation_id(acme, alice, "alice@acme.test")
    return config


@pytest.fixture(autouse=True)
def _served_on_testserver() -> Iterator[None]:
    """The ACS URL and metadata the test builds are those of the test client's host
    (absolute URLs use the request's host: orgs.links)."""
    with links.answering(RequestFactory().get("/")):
        yield


def login_url(config: SamlSsoConfig) -> str:
    return reverse("sso-login", args=[config.organization.public_id, config.uuid])


def acs_path(config: SamlSsoConfig) -> str:
    return reverse("sso-acs", args=[config.organization.public_id, config.uuid])


def start(client: Client, config: SamlSsoConfig) -> str:
    """Click "Log in with …": the redirect to the identity provider."""
    response = client.get(login_url(config))
    assert response.status_code == 302
    assert response["Location"].startswith(peers.IDP_LOGIN_URL + "?SAMLRequest=")
    return str(response["Location"])


def logged_in_as(client: Client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id).username if user_id else None


def last_audit(org: Organization) -> AuditEvent:
    return AuditEvent.objects.filter(organization=org).order_by("-id").first()  # type: ignore[return-value]


# --- round trips with pysaml2 -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sign_response", "sign_assertion"),
    [(True, True), (True, False), (False, True)],
    ids=["signed-response-and-assertion", "signed-response", "signed-assertion"],
)
def test_pysaml2_idp_logs_alice_in_to_acme_only(
    client: Client,
    config: SamlSsoConfig,
    acme: Organization,
    globex: Organization,
    alice: User,
    sign_response: bool,
    sign_assertion: bool,
) -> None:
    make_member(globex, "alice-elsewhere")
    Membership.objects.create(
        organization=globex, user=alice, profile=globex.profiles.get(name="System Administrator")
    )
    idp = peers.pysaml2_idp(sso_services.sp_metadata(config))
    acs, body, request_id = peers.answer_redirect(
        idp,
        start(client, config),
        name_id="alice@acme.test",
        sign_response=sign_response,
        sign_assertion=sign_assertion,
    )
    assert acs == sso_services.acs_url(config)

    response = client.post(acs_path(config), {"SAMLResponse": body})

    assert response.status_code == 302
    assert response["Location"] == reverse("orgs:setup-home", args=[acme.public_id])
    assert logged_in_as(client) == "alice"
    assert client.get(response["Location"]).status_code == 200
    # Logged in to that org only, though alice is also a member of Globex.
    assert client.session[SSO_ORG_SESSION_KEY] == acme.public_id
    assert client.get(reverse("orgs:setup-home", args=[globex.public_id])).status_code == 404
    assert SamlAuthnRequest.objects.get(request_id=request_id).answered_at is not None
    event = last_audit(acme)
    assert event.action == "samlLogin"
    assert "alice logged in with SAML SSO configuration Okta" in event.message


def test_pysaml2_idp_encrypted_assertion_is_decrypted_with_the_decryption_certificate(
    client: Client, config: SamlSsoConfig, acme: Organization, alice: User
) -> None:
    decrypter = rsa_certificate(acme, "Sso_Decryption")
    config.assertion_decryption_certificate = decrypter
    config.save()
    idp = peers.pysaml2_idp(sso_services.sp_metadata(config))
    _, body, _ = peers.answer_redirect(
        idp,
        start(client, config),
        name_id="alice@acme.test",
        encrypt_to=sso_services.certificate_pem(decrypter),
    )
    assert b"EncryptedAssertion" in __import__("base64").b64decode(body)

    response = client.post(acs_path(config), {"SAMLResponse": body})

    assert response.status_code == 302, response.content.decode()[:2000]
    assert logged_in_as(client) == "alice"


def test_a_new_decryption_certificate_takes_effect_at_the_next_login(
    client: Client, config: SamlSsoConfig, acme: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ACS keeps each decryption key's xmlsec key manager (making one costs ~20 ms): a
    second login with the same certificate reuses it, and choosing another certificate is
    honoured at once: responses for the old one are refused, those for the new one accepted."""
    made: list[bytes] = []
    make = sso_login.saml_acs.decryption_keys
    monkeypatch.setattr(
        sso_login.saml_acs, "decryption_keys", lambda pem: made.append(pem) or make(pem)
    )
    first, second = rsa_certificate(acme, "Sso_Decryption"), rsa_certificate(acme, "Sso_Next")
    config.assertion_decryption_certificate = first
    config.save()

    def encrypted_login(to: object) -> int:
        idp = peers.pysaml2_idp(sso_services.sp_metadata(config))
        _, body, _ = peers.answer_redirect(
            idp,
            start(client, config),
            name_id="alice@acme.test",
            encrypt_to=sso_services.certificate_pem(to),  # type: ignore[arg-type]
        )
        status = client.post(acs_path(config), {"SAMLResponse": body}).status_code
        client.logout()
        return status

    assert [encrypted_login(first), encrypted_login(first)] == [302, 302]
    assert len(made) == 1  # one key manager for both logins
    config.assertion_decryption_certificate = second
    config.save()

    assert encrypted_login(first) == 403
    assert "(decryption_failed)" in last_audit(acme).message
    assert encrypted_login(second) == 302
    assert len(made) == 2


def test_encrypted_assertion_without_a_decryption_certificate_is_refused(
    client: Client, config: SamlSsoConfig, acme: Organization
) -> None:
    other = rsa_certificate(acme, "Not_Configured")
    idp = peers.pysaml2_idp(sso_services.sp_metadata(config))
    _, body, _ = peers.answer_redirect(
        idp,
        start(client, config),
        name_id="alice@acme.test",
        encrypt_to=sso_services.certificate_pem(other),
    )

    response = client.post(acs_path(config), {"SAMLResponse": body})

    assert response.status_code == 403
    assert "has no Assertion Decryption Certificate" in response.content.decode()
    assert logged_in_as(client) is None


# --- attacks ------------------------------------------------------------------------------------


def _request_id(client: Client, config: SamlSsoConfig) -> str:
    start(client, config)
    return SamlAuthnRequest.objects.filter(config=config).latest("created_at").request_id


def _valid(client: Client, config: SamlSsoConfig, **overrides: object) -> etree._Element:
    values: dict[str, object] = {
        "acs_url": sso_services.acs_url(config),
        "audience": config.issuer,
        "name_id": "alice@acme.test",
        "in_response_to": _request_id(client, config),
    }
    values.update(overrides)
    return peers.build_response(**values)  # type: ignore[arg-type]


def _refused(client: Client, config: SamlSsoConfig, body: str, code: str) -> str:
    response = client.post(acs_path(config), {"SAMLResponse": body})
    page = response.content.decode()
    assert response.status_code in (400, 403), page[:1000]
    assert f"<code>{code}</code>" in page, page[:3000]
    assert "Traceback" not in page
    assert "samlp:" not in page  # no XML echoed
    assert logged_in_as(client) is None
    event = last_audit(config.organization)
    assert event.action == "samlLoginFailed"
    assert f"({code})" in event.message
    return page


def test_a_valid_crafted_response_logs_in(client: Client, config: SamlSsoConfig) -> None:
    """The baseline of every attack below: the same builder, untouched, is accepted."""
    response = peers.sign_element(_valid(client, config))

    reply = client.post(acs_path(config), {"SAMLResponse": peers.post_value(response)})

    assert reply.status_code == 302
    assert logged_in_as(client) == "alice"


def test_unsigned_response_is_refused(client: Client, config: SamlSsoConfig) -> None:
    _refused(client, config, peers.post_value(_valid(client, config)), "unsigned")


def test_response_signed_by_another_key_is_refused(client: Client, config: SamlSsoConfig) -> None:
    key, cert = peers.other_key_and_certificate()
    signed = peers.sign_element(_valid(client, config), key, cert)

    page = _refused(client, config, peers.post_value(signed), "bad_signature")

    assert "does not verify with the identity provider certificate" in page


def test_assertion_signed_by_another_key_is_refused(client: Client, config: SamlSsoConfig) -> None:
    key, cert = peers.other_key_and_certificate()
    response = peers.sign_assertion(_valid(client, config), key, cert)

    _refused(client, config, peers.post_value(response), "bad_signature")


def test_tampered_signed_response_is_refused(client: Client, config: SamlSsoConfig) -> None:
    signed = peers.sign_element(_valid(client, config))
    signed.find(f".//{{{SAML}}}NameID").text = "admin@acme.test"  # type: ignore[union-attr]

    _refused(client, config, peers.post_value(signed), "bad_signature")


def test_wrapping_a_second_unsigned_assertion_beside_the_signed_one_is_refused(
    client: Client, config: SamlSsoConfig, acme: Organization
) -> None:
    make_member(acme, "mallory")
    response = peers.sign_assertion(_valid(client, config))
    forged = copy.deepcopy(response.find(f"{{{SAML}}}Assertion"))
    assert forged is not None
    forged.remove(forged.find("{http://www.w3.org/2000/09/xmldsig#}Signature"))
    forged.set("ID", "_forged")
    forged.find(f".//{{{SAML}}}NameID").text = "bob@acme.test"  # type: ignore[union-attr]
    response.insert(2, forged)  # before the signed one

    _refused(client, config, peers.post_value(response), "assertion_count")


def test_wrapping_with_the_signed_assertion_moved_is_refused(
    client: Client, config: SamlSsoConfig
) -> None:
    """The signed assertion hidden in Extensions; a forged one where SAML reads it."""
    response = peers.sign_assertion(_valid(client, config))
    signed = response.find(f"{{{SAML}}}Assertion")
    assert signed is not None
    forged = copy.deepcopy(signed)
    forged.remove(forged.find("{http://www.w3.org/2000/09/xmldsig#}Signature"))
    forged.find(f".//{{{SAML}}}NameID").text = "bob@acme.test"  # type: ignore[union-attr]
    extensions = etree.Element(f"{{{SAMLP}}}Extensions")
    response.replace(signed, forged)
    extensions.append(signed)
    response.insert(1, extensions)

    _refused(client, config, peers.post_value(response), "assertion_count")


def test_replayed_response_is_refused(client: Client, config: SamlSsoConfig) -> None:
    body = peers.post_value(peers.sign_element(_valid(client, config)))
    assert client.post(acs_path(config), {"SAMLResponse": body}).status_code == 302
    client.logout()

    page = _refused(client, config, body, "replay")

    assert "already answered" in page


@pytest.mark.parametrize("in_response_to", ["ours", None], ids=["sp-initiated", "idp-initiated"])
def test_a_response_refused_for_its_user_is_used_up_all_the_same(
    client: Client, config: SamlSsoConfig, acme: Organization, alice: User, in_response_to: str
) -> None:
    """A response that logged nobody in (no member has its Federation ID yet) cannot be
    posted again once the admin has set it: the request and assertion are spent."""
    config.allow_idp_initiated = True
    config.save()
    set_federation_id(acme, alice, "")
    irt = {} if in_response_to else {"in_response_to": None}
    body = peers.post_value(peers.sign_element(_valid(client, config, **irt)))
    _refused(client, config, body, "unknown_user")
    set_federation_id(acme, alice, "alice@acme.test")

    _refused(client, config, body, "replay")


def test_a_login_is_written_whole_or_not_at_all(
    client: Client, config: SamlSsoConfig, acme: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the session cannot be written, no login audit line or just-in-time user remains."""
    config.jit_provisioning = True
    config.save()

    def session_fails(*args: object, **kwargs: object) -> None:
        raise sso_login.Refused("session", "The session could not be saved.")

    monkeypatch.setattr("certadmin.views.sso_login.login", session_fails)
    body = peers.post_value(peers.sign_element(_valid(client, config, name_id="newcomer")))

    _refused(client, config, body, "session")

    assert not User.objects.filter(username="newcomer").exists()
    assert not AuditEvent.objects.filter(
        organization=acme, action__in=["samlLogin", "createdUserJit"]
    ).exists()


def test_replayed_idp_initiated_response_is_refused(client: Client, config: SamlSsoConfig) -> None:
    config.allow_idp_initiated = True
    config.save()
    body = peers.post_value(peers.sign_element(_valid(client, config, in_response_to=None)))
    assert client.post(acs_path(config), {"SAMLResponse": body}).status_code == 302
    client.logout()

    _refused(client, config, body, "replay")


def test_idp_initiated_is_refused_unless_allowed(client: Client, config: SamlSsoConfig) -> None:
    body = peers.post_value(peers.sign_element(_valid(client, config, in_response_to=None)))

    _refused(client, config, body, "idp_initiated")


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"audience": "https://other-sp.example.test"}, "wrong_audience"),
        ({"destination": "https://other-sp.example.test/acs"}, "wrong_destination"),
        ({"recipient": "https://other-sp.example.test/acs"}, "wrong_recipient"),
        ({"issuer": "https://evil.example.test/idp"}, "wrong_issuer"),
        ({"in_response_to": "_never_sent"}, "unknown_request"),
    ],
    ids=["audience", "destination", "recipient", "issuer", "unknown-in-response-to"],
)
def test_wrong_values_are_refused(
    client: Client, config: SamlSsoConfig, override: dict[str, str], code: str
) -> None:
    body = peers.post_value(peers.sign_element(_valid(client, config, **override)))

    _refused(client, config, body, code)


def test_expired_conditions_are_refused(client: Client, config: SamlSsoConfig) -> None:
    past = timezone.now() - timedelta(minutes=20)
    response = _valid(client, config, now=past, not_on_or_after=past + timedelta(minutes=5))

    _refused(client, config, peers.post_value(peers.sign_element(response)), "expired")


def test_a_request_answered_too_late_is_refused(client: Client, config: SamlSsoConfig) -> None:
    response = _valid(client, config)
    SamlAuthnRequest.objects.update(created_at=timezone.now() - timedelta(minutes=11))

    _refused(client, config, peers.post_value(peers.sign_element(response)), "request_expired")


def test_name_id_of_another_orgs_user_is_refused(
    client: Client, config: SamlSsoConfig, globex: Organization, carol: User
) -> None:
    set_federation_id(globex, carol, "carol@globex.test")
    body = peers.post_value(peers.sign_element(_valid(client, config, name_id="carol@globex.test")))

    page = _refused(client, config, body, "unknown_user")

    assert "No user of Acme has the Federation ID" in page


def test_a_member_deactivated_in_the_org_is_refused(
    client: Client, config: SamlSsoConfig, acme: Organization, alice: User
) -> None:
    """Deactivation is per org (docs/users.md): the login stays, this org refuses it."""
    Membership.objects.filter(organization=acme, user=alice).update(is_active=False)
    body = peers.post_value(peers.sign_element(_valid(client, config)))

    page = _refused(client, config, body, "inactive_user")

    assert "alice is deactivated" in page


def test_doctype_and_entities_are_refused(client: Client, config: SamlSsoConfig) -> None:
    signed = etree.tostring(peers.sign_element(_valid(client, config)))
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n' + signed
    )

    _refused(client, config, peers.post_value(body), "doctype")


def test_garbage_is_a_400_with_a_reason(client: Client, config: SamlSsoConfig) -> None:
    _refused(client, config, "bm90IHhtbA==", "malformed")


def test_just_in_time_creates_a_standard_user_when_enabled(
    client: Client, config: SamlSsoConfig, acme: Organization
) -> None:
    config.jit_provisioning = True
    config.save()
    body = peers.post_value(peers.sign_element(_valid(client, config, name_id="dave@acme.test")))

    response = client.post(acs_path(config), {"SAMLResponse": body})

    assert response.status_code == 302
    membership = Membership.objects.get(organization=acme, federation_id="dave@acme.test")
    assert membership.profile.name == "Standard User"
    assert not membership.user.has_usable_password()
    assert AuditEvent.objects.filter(organization=acme, action="createdUserJit").exists()


def test_proxy_configuration_stops_at_the_deadline(
    client: Client, acme: Organization, settings: object
) -> None:
    config = make_config(acme, "Legacy", legacy=True)
    settings.CERTADMIN_PROXY_DEADLINE = timezone.now() - timedelta(days=1)  # type: ignore[attr-defined]

    response = client.get(login_url(config))

    assert response.status_code == 403
    assert "<code>proxy_deadline</code>" in response.content.decode()


def test_proxy_configuration_works_before_the_deadline(
    client: Client, acme: Organization, settings: object
) -> None:
    config = make_config(acme, "Legacy", legacy=True)
    settings.CERTADMIN_PROXY_DEADLINE = timezone.now() + timedelta(days=1)  # type: ignore[attr-defined]

    assert client.get(login_url(config)).status_code == 302


def test_another_orgs_config_uuid_is_a_404(
    client: Client, config: SamlSsoConfig, globex: Organization
) -> None:
    url = reverse("sso-login", args=[globex.public_id, config.uuid])

    assert client.get(url).status_code == 404
    assert sso_login.login_path(config) == login_url(config)


def test_the_hourly_housekeeping_forgets_spent_requests_and_expired_assertion_ids(
    config: SamlSsoConfig,
) -> None:
    """Logins no longer prune on every post: the schedule does, through django-q2; also the
    ids of requests our Identity Provider answered, once too old to be answered again."""
    from django_q.models import Schedule
    from django_q.tasks import async_task, result

    from certadmin.models import IdpAnsweredRequest, SamlConsumedAssertion, ServiceProvider

    now = timezone.now()
    for age, name in [(timedelta(days=2), "old"), (timedelta(hours=2), "recent")]:
        SamlAuthnRequest.objects.create(config=config, request_id=f"_{name}", created_at=now - age)
    app = ServiceProvider.objects.create(
        organization=config.organization,
        name="Wiki",
        entity_id="https://app",
        acs_url="https://app/a",
    )
    for until, name in [
        (now - timedelta(minutes=1), "_spent"),
        (now + timedelta(minutes=5), "_live"),
    ]:
        SamlConsumedAssertion.objects.create(config=config, assertion_id=name, expires_at=until)
        IdpAnsweredRequest.objects.create(service_provider=app, request_id=name, expires_at=until)
    schedule = Schedule.objects.get(name="certadmin: SAML housekeeping")

    task_id = async_task(schedule.func)  # run synchronously in the tests

    assert result(task_id) == (
        "Forgot 1 SAML login request, 1 assertion id and 1 answered Identity Provider request."
    )
    assert list(SamlAuthnRequest.objects.values_list("request_id", flat=True)) == ["_recent"]
    assert list(SamlConsumedAssertion.objects.values_list("assertion_id", flat=True)) == ["_live"]
    assert list(IdpAnsweredRequest.objects.values_list("request_id", flat=True)) == ["_live"]


# --- found in review (2026-12-07) -----------------------------------------------------------------


def test_a_superuser_is_never_logged_in_by_an_orgs_identity_provider(
    client: Client, config: SamlSsoConfig, acme: Organization
) -> None:
    """An org's admin configures its IdP: it must not be able to log in the installation's
    superusers (who would then reach the Django admin)."""
    root = User.objects.create(username="root", is_superuser=True, is_staff=True)
    Membership.objects.create(
        organization=acme, user=root, profile=acme.profiles.get(name="System Administrator")
    )
    set_federation_id(acme, root, "root@idp")  # as a superuser could have, in the admin
    body = peers.post_value(peers.sign_element(_valid(client, config, name_id="root@idp")))

    page = _refused(client, config, body, "superuser")

    assert "cannot log in a superuser" in page
    assert client.get("/admin/").status_code == 302  # to the admin's login page


def test_a_session_opened_by_an_orgs_sso_never_opens_the_installation_admin(
    client: Client, acme: Organization
) -> None:
    root = User.objects.create(username="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    assert client.get("/admin/").status_code == 200
    session = client.session
    session[SSO_ORG_SESSION_KEY] = acme.public_id
    session.save()

    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize("who", ["superuser", "member-elsewhere"])
def test_an_org_admin_cannot_set_the_federation_id_of_a_login_shared_with_others(
    client: Client, acme: Organization, globex: Organization, alice: User, who: str
) -> None:
    """Like their email and password (docs/users.md): a Federation ID logs its holder in
    through this org's IdP, which this org's admins control."""
    bob = User.objects.create(username="bob", is_superuser=who == "superuser")
    for org in [acme, globex] if who == "member-elsewhere" else [acme]:
        Membership.objects.create(
            organization=org, user=bob, profile=org.profiles.get(name="Standard User")
        )
    member = Membership.objects.get(organization=acme, user=bob)
    client.force_login(alice)
    url = reverse("orgs:user-federation-id", args=[acme.public_id, member.uuid])

    response = client.post(url, {"federation_id": "bob@idp"})

    assert response.status_code == 400
    assert "their Federation ID is set by the installation&#x27;s superusers" in (
        response.content.decode()
    )
    member.refresh_from_db()
    assert member.federation_id == ""


def test_an_idp_initiated_response_cannot_be_replayed_after_the_housekeeping(
    client: Client, config: SamlSsoConfig
) -> None:
    """Without NotOnOrAfter in Conditions, the confirmation's end (here 2 hours away) bounds
    the assertion: its id is kept that long, not five minutes."""
    config.allow_idp_initiated = True
    config.save()
    now = timezone.now()
    response = _valid(client, config, in_response_to=None, not_on_or_after=now + timedelta(hours=2))
    del response.find(f".//{{{SAML}}}Conditions").attrib["NotOnOrAfter"]  # type: ignore[union-attr]
    body = peers.post_value(peers.sign_element(response))
    assert client.post(acs_path(config), {"SAMLResponse": body}).status_code == 302
    client.logout()
    sso_login.prune_spent(now=now + timedelta(minutes=10))  # the hourly job, later

    _refused(client, config, body, "replay")


@pytest.mark.parametrize(
    "breaks",
    ["signature-value", "no-signed-info", "no-algorithm"],
)
def test_a_signature_that_breaks_the_schema_is_a_400_not_a_500(
    config: SamlSsoConfig, breaks: str
) -> None:
    anonymous = Client(raise_request_exception=False)
    response = peers.sign_element(
        peers.build_response(acs_url="https://x", audience="x", name_id="x", in_response_to=None)
    )
    signature = response.find("{http://www.w3.org/2000/09/xmldsig#}Signature")
    assert signature is not None
    if breaks == "signature-value":
        signature.find("{http://www.w3.org/2000/09/xmldsig#}SignatureValue").text = "abcde"  # type: ignore[union-attr]
    elif breaks == "no-signed-info":
        signature.remove(signature.find("{http://www.w3.org/2000/09/xmldsig#}SignedInfo"))  # type: ignore[arg-type]
    else:
        method = signature.find(".//{http://www.w3.org/2000/09/xmldsig#}SignatureMethod")
        del method.attrib["Algorithm"]  # type: ignore[union-attr]

    reply = anonymous.post(acs_path(config), {"SAMLResponse": peers.post_value(response)})

    assert reply.status_code in (400, 403)
    assert "<code>bad_signature</code>" in reply.content.decode()


def test_an_assertion_without_an_id_is_refused(client: Client, config: SamlSsoConfig) -> None:
    response = _valid(client, config)
    del response.find(f"{{{SAML}}}Assertion").attrib["ID"]  # type: ignore[union-attr]

    _refused(client, config, peers.post_value(peers.sign_element(response)), "malformed")


def test_a_validity_at_the_end_of_time_does_not_overflow(
    client: Client, config: SamlSsoConfig
) -> None:
    far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    body = peers.post_value(peers.sign_element(_valid(client, config, not_on_or_after=far)))

    assert client.post(acs_path(config), {"SAMLResponse": body}).status_code == 302


@pytest.mark.parametrize("spoil", ["none", "another-certificate", "ciphertext", "unsigned-inside"])
def test_an_encrypted_assertion_in_an_unsigned_response_fails_one_way_only(
    client: Client, config: SamlSsoConfig, acme: Organization, spoil: str
) -> None:
    """Nothing signed covers the ciphertext of an unsigned response: whatever goes wrong
    from decryption on reads the same, so the ACS is no padding or format oracle."""
    decrypter = rsa_certificate(acme, "Sso_Decryption")
    config.assertion_decryption_certificate = decrypter
    config.save()
    to = rsa_certificate(acme, "Sso_Other") if spoil == "another-certificate" else decrypter
    idp = peers.pysaml2_idp(sso_services.sp_metadata(config))
    _, body, _ = peers.answer_redirect(
        idp,
        start(client, config),
        name_id="alice@acme.test",
        sign_response=False,
        sign_assertion=spoil != "unsigned-inside",
        encrypt_to=sso_services.certificate_pem(to),
    )
    if spoil == "ciphertext":
        document = etree.fromstring(base64.b64decode(body))
        value = document.findall(".//{http://www.w3.org/2001/04/xmlenc#}CipherValue")[-1]
        cipher = bytearray(base64.b64decode(value.text or ""))
        cipher[-20] ^= 0x01  # one bit of the last blocks
        value.text = base64.b64encode(bytes(cipher)).decode()
        body = peers.post_value(document)

    if spoil == "none":
        assert client.post(acs_path(config), {"SAMLResponse": body}).status_code == 302
    else:
        page = _refused(client, config, body, "undecryptable")
        assert "could not be decrypted and verified" in page


def test_over_https_a_response_logs_in_only_the_browser_that_started_the_login(
    client: Client, config: SamlSsoConfig, acme: Organization
) -> None:
    """Login CSRF: alice starts a login, and instead of posting her IdP's answer herself makes
    a victim's browser post it; the victim must not end up logged in as alice."""
    started = client.get(login_url(config), secure=True)
    cookie = started.cookies[f"certadmin_saml_{config.uuid.hex}"]
    assert (cookie["samesite"], cookie["secure"], cookie["httponly"]) == ("None", True, True)
    assert cookie["path"] == acs_path(config)
    request_id = SamlAuthnRequest.objects.filter(config=config).latest("created_at").request_id
    https_acs = f"https://testserver{acs_path(config)}"
    response = _valid(client, config, in_response_to=request_id, acs_url=https_acs)
    body = peers.post_value(peers.sign_element(response))
    victim = Client()

    refused = victim.post(acs_path(config), {"SAMLResponse": body}, secure=True)

    assert refused.status_code == 403
    assert "<code>other_browser</code>" in refused.content.decode()
    assert logged_in_as(victim) is None
    assert "(other_browser)" in last_audit(acme).message
    # The login is not spent: in the browser that started it, it goes through.
    accepted = client.post(acs_path(config), {"SAMLResponse": body}, secure=True)
    assert accepted.status_code == 302
    assert logged_in_as(client) == "alice"
