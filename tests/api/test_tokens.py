"""API tokens: made and revoked on the API Tokens page, shown once, stored hashed; what a
token may and may not do at the API."""

import hashlib
import json
from datetime import timedelta

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from certadmin.models import ApiToken
from certadmin.services import tokens
from orgs import permissions
from orgs.models import AuditEvent, Membership, Organization
from orgs.services import members, profiles
from tests.api.conftest import api_get, make_token
from tests.conftest import PASSWORD, grant, make_member


def _list(org: Organization) -> str:
    return reverse("api:certificate-list", args=[org.public_id])


def _tokens_page(org: Organization) -> str:
    return reverse("certadmin:token-list", args=[org.public_id])


def test_member_creates_a_token_and_sees_it_once(
    client: Client, acme: Organization, bob: User
) -> None:
    client.force_login(bob)

    created = client.post(_tokens_page(acme), {"name": "Deploy pipeline", "expires": "90"})
    again = client.get(_tokens_page(acme))

    token = ApiToken.objects.get()
    plaintext = created.context["new_token"].plaintext
    assertContains(created, plaintext)
    assert created["Cache-Control"] == "no-store"
    assertNotContains(again, plaintext)
    assertContains(again, token.display_prefix)
    assert token.user == bob
    assert token.expires_at is not None
    assert token.expires_at - timezone.now() > timedelta(days=89)


def test_only_a_sha256_digest_of_the_secret_is_stored(acme: Organization, alice: User) -> None:
    plaintext = make_token(acme, alice)
    _, key_id, secret = plaintext.split("_", 2)

    token = ApiToken.objects.get()

    assert len(secret) == 43  # 256 random bits, base64url
    assert token.key_id == key_id
    assert token.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(list(ApiToken.objects.values()), default=str)


def test_a_token_opens_the_api(client: Client, acme: Organization, alice_token: str) -> None:
    response = api_get(client, _list(acme), alice_token)

    assert response.status_code == 200


def test_creating_and_revoking_is_in_the_audit_trail(
    client: Client, acme: Organization, alice: User
) -> None:
    client.force_login(alice)
    client.post(_tokens_page(acme), {"name": "CI", "expires": "never"})
    token = ApiToken.objects.get()

    client.post(reverse("certadmin:token-revoke", args=[acme.public_id, token.uuid]))

    messages = list(AuditEvent.objects.filter(organization=acme).values_list("message", flat=True))
    assert f"Created API token CI ({token.display_prefix})" in messages
    assert f"Revoked API token CI ({token.display_prefix})" in messages


def test_a_revoked_token_is_refused(client: Client, acme: Organization, alice: User) -> None:
    plaintext = make_token(acme, alice)
    client.force_login(alice)
    token = ApiToken.objects.get()

    client.post(reverse("certadmin:token-revoke", args=[acme.public_id, token.uuid]))
    client.logout()
    response = api_get(client, _list(acme), plaintext)

    assert response.status_code == 401
    assert json.loads(response.content)["error"] == "invalid_token"


def test_an_expired_token_is_refused(client: Client, acme: Organization, alice: User) -> None:
    new = tokens.create_api_token(
        org=acme,
        user=alice,
        name="Old",
        expires_in_days=30,
        acting_user=alice,
        now=timezone.now() - timedelta(days=31),
    )

    response = api_get(client, _list(acme), new.plaintext)

    assert response.status_code == 401


def test_a_token_with_a_wrong_secret_is_refused(
    client: Client, acme: Organization, alice_token: str
) -> None:
    forged = alice_token[:-4] + ("AAAA" if not alice_token.endswith("AAAA") else "BBBB")

    response = api_get(client, _list(acme), forged)

    assert response.status_code == 401


def test_malformed_authorization_headers_are_a_401(client: Client, acme: Organization) -> None:
    for header in (
        "Bearer",
        "Basic YWxpY2U6cHc=",
        "Bearer a b",
        "Bearer " + "x" * 5000,
        "Bearer é",
    ):
        response = client.get(_list(acme), HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        assert response["Content-Type"] == "application/json"


def test_a_token_stops_working_when_its_user_leaves_the_org(
    client: Client, acme: Organization, alice: User, alice_token: str
) -> None:
    Membership.objects.filter(organization=acme, user=alice).delete()

    response = api_get(client, _list(acme), alice_token)

    assert response.status_code == 401


def test_a_token_of_an_inactive_user_is_refused(
    client: Client, acme: Organization, alice: User, alice_token: str
) -> None:
    alice.is_active = False
    alice.save()

    response = api_get(client, _list(acme), alice_token)

    assert response.status_code == 401


def test_a_token_works_only_in_its_own_org(
    client: Client, acme: Organization, globex: Organization, alice: User, alice_token: str
) -> None:
    """Alice is also a member of Globex, but her Acme token is for Acme."""
    members.add_member(
        org=globex,
        user=alice,
        profile=profiles.standard_profile(globex, permissions.SYSTEM_ADMINISTRATOR),
        acting_user=None,
    )

    response = api_get(client, _list(globex), alice_token)

    assert response.status_code == 404


def test_last_used_is_recorded_at_most_once_a_minute(
    client: Client, acme: Organization, alice_token: str
) -> None:
    api_get(client, _list(acme), alice_token)
    first = ApiToken.objects.get().last_used_at

    api_get(client, _list(acme), alice_token)

    assert first is not None
    assert ApiToken.objects.get().last_used_at == first


def test_api_only_user_uses_a_token_but_cannot_log_in_to_setup(
    client: Client, acme: Organization
) -> None:
    robot = make_member(acme, "robot")
    grant(acme, robot, "api_only_user", "manage_certificates")
    plaintext = make_token(acme, robot)

    api = api_get(client, _list(acme), plaintext)
    login = client.post(reverse("login"), {"username": "robot", "password": PASSWORD})

    assert api.status_code == 200
    assertContains(login, "API Only user and cannot log in to Setup")


def test_admin_makes_a_token_for_an_api_only_user(
    client: Client, acme: Organization, alice: User
) -> None:
    robot = make_member(acme, "robot")
    grant(acme, robot, "api_only_user", "manage_certificates")
    client.force_login(alice)

    response = client.post(
        _tokens_page(acme), {"name": "Robot", "expires": "365", "user": robot.pk}
    )

    token = ApiToken.objects.get()
    assert token.user == robot
    assert token.created_by == alice
    assert (
        api_get(Client(), _list(acme), response.context["new_token"].plaintext).status_code == 200
    )


def test_members_cannot_pick_another_user(
    client: Client, acme: Organization, alice: User, bob: User
) -> None:
    client.force_login(bob)

    client.post(_tokens_page(acme), {"name": "Sneaky", "expires": "30", "user": alice.pk})

    assert ApiToken.objects.get().user == bob


def test_members_see_only_their_own_tokens(
    client: Client, acme: Organization, alice: User, bob: User
) -> None:
    make_token(acme, alice, "Alice's")
    make_token(acme, bob, "Bob's")
    client.force_login(bob)

    response = client.get(_tokens_page(acme))

    assertContains(response, "Bob&#x27;s")
    assertNotContains(response, "Alice&#x27;s")


def test_member_cannot_revoke_someone_elses_token(
    client: Client, acme: Organization, alice: User, bob: User
) -> None:
    make_token(acme, alice)
    token = ApiToken.objects.get()
    client.force_login(bob)

    response = client.post(reverse("certadmin:token-revoke", args=[acme.public_id, token.uuid]))

    assert response.status_code == 403
    assert ApiToken.objects.get().revoked_at is None


def test_admin_revokes_a_members_token(
    client: Client, acme: Organization, alice: User, bob: User
) -> None:
    make_token(acme, bob)
    token = ApiToken.objects.get()
    client.force_login(alice)

    client.post(reverse("certadmin:token-revoke", args=[acme.public_id, token.uuid]))

    assert ApiToken.objects.get().revoked_at is not None


def test_a_token_name_is_required(client: Client, acme: Organization, bob: User) -> None:
    client.force_login(bob)

    response = client.post(_tokens_page(acme), {"name": "  ", "expires": "30"})

    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_the_setup_tree_offers_api_tokens_to_every_member(
    client: Client, acme: Organization, bob: User
) -> None:
    client.force_login(bob)

    response = client.get(reverse("orgs:setup-home", args=[acme.public_id]))

    assertContains(response, "My Settings")
    assertContains(response, f'href="{_tokens_page(acme)}"')


def test_the_bearer_scheme_is_case_insensitive(
    client: Client, acme: Organization, alice_token: str
) -> None:
    response = client.get(_list(acme), HTTP_AUTHORIZATION=f"bearer {alice_token}")

    assert response.status_code == 200
