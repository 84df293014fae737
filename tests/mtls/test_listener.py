"""End to end over real TLS: nginx's mutual-TLS listener and gunicorn, with curl and Python
clients (SPEC 5, issue 7)."""

import ssl

import httpx
import pytest
import requests

from tests.mtls.conftest import World, curl, escaped


def _refused(answer: object, code: str) -> None:
    assert answer.status == 401, answer.body  # type: ignore[attr-defined]
    assert answer.json()["error"] == code  # type: ignore[attr-defined]


def test_matching_certificate_is_let_in_with_curl(world: World) -> None:
    stack = world.stack

    answer = curl(
        stack.mtls_url + world.path(),
        ca=stack.tls.ca,
        token=world.tokens["alice"],
        cert=world.certs["acme"],
    )

    assert answer.status == 200, answer.body
    assert [c["unique_name"] for c in answer.json()["results"]] == ["Payments_Signing"]


def test_matching_certificate_is_let_in_with_requests(world: World) -> None:
    stack, cert = world.stack, world.certs["acme"]

    response = requests.get(
        stack.mtls_url + world.path(),
        cert=(str(cert.chain), str(cert.key)),
        verify=str(stack.tls.ca),
        headers={"Authorization": f"Bearer {world.tokens['alice']}"},
        timeout=10,
    )

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_matching_certificate_is_let_in_with_httpx_keep_alive(world: World) -> None:
    stack, cert = world.stack, world.certs["acme"]
    context = ssl.create_default_context(cafile=str(stack.tls.ca))
    context.load_cert_chain(str(cert.chain), str(cert.key))

    with httpx.Client(
        base_url=stack.mtls_url,
        verify=context,
        headers={"Authorization": f"Bearer {world.tokens['alice']}"},
    ) as client:
        statuses = [client.get(world.path()).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]


def test_no_client_certificate_is_refused(world: World) -> None:
    answer = curl(
        world.stack.mtls_url + world.path(), ca=world.stack.tls.ca, token=world.tokens["alice"]
    )

    _refused(answer, "no_client_certificate")


def test_the_plain_tls_listener_is_refused_to_an_enforced_user(world: World) -> None:
    answer = curl(
        world.stack.tls_url + world.path(),
        ca=world.stack.tls.ca,
        token=world.tokens["alice"],
        cert=world.certs["acme"],
    )

    _refused(answer, "not_mtls_listener")


def test_another_orgs_certificate_is_refused(world: World) -> None:
    answer = curl(
        world.stack.mtls_url + world.path(),
        ca=world.stack.tls.ca,
        token=world.tokens["alice"],
        cert=world.certs["globex"],
    )

    _refused(answer, "certificate_of_another_org")


def test_an_expired_certificate_is_refused(world: World) -> None:
    answer = curl(
        world.stack.mtls_url + world.path(),
        ca=world.stack.tls.ca,
        token=world.tokens["alice"],
        cert=world.certs["expired"],
    )

    _refused(answer, "certificate_expired")


def test_an_unknown_certificate_is_refused(world: World) -> None:
    answer = curl(
        world.stack.mtls_url + world.path(),
        ca=world.stack.tls.ca,
        token=world.tokens["alice"],
        cert=world.certs["unknown"],
    )

    _refused(answer, "unknown_certificate")


@pytest.mark.parametrize("listener", ["tls_url", "mtls_url"])
def test_a_user_without_enforce_needs_no_certificate(world: World, listener: str) -> None:
    answer = curl(
        getattr(world.stack, listener) + world.path(),
        ca=world.stack.tls.ca,
        token=world.tokens["dave"],
    )

    assert answer.status == 200, answer.body


def test_a_certificate_does_not_replace_the_token(world: World) -> None:
    answer = curl(
        world.stack.mtls_url + world.path(), ca=world.stack.tls.ca, cert=world.certs["acme"]
    )

    _refused(answer, "missing_token")


# --- the headers cannot be spoofed ------------------------------------------------------------


def test_a_client_talking_to_gunicorn_directly_cannot_claim_a_certificate(world: World) -> None:
    """gunicorn believes the headers only from nginx's address (127.0.0.2), not 127.0.0.1."""
    answer = curl(
        world.stack.app_url + world.path(),
        token=world.tokens["alice"],
        headers={
            "X-Certadmin-Listener": "mtls",
            "X-Certadmin-Client-Cert": escaped(world.certs["acme"]),
        },
    )

    _refused(answer, "not_mtls_listener")


def test_a_local_client_on_the_proxys_own_address_cannot_claim_a_certificate(
    world: World,
) -> None:
    """Any local process can bind 127.0.0.2; without the secret nginx sends it is not believed."""
    answer = curl(
        world.stack.app_url + world.path(),
        token=world.tokens["alice"],
        headers={
            "X-Certadmin-Listener": "mtls",
            "X-Certadmin-Client-Cert": escaped(world.certs["acme"]),
        },
        interface=world.stack.proxy_address,
    )

    _refused(answer, "not_mtls_listener")


def test_headers_sent_through_the_plain_tls_listener_are_replaced(world: World) -> None:
    answer = curl(
        world.stack.tls_url + world.path(),
        ca=world.stack.tls.ca,
        token=world.tokens["alice"],
        headers={
            "X-Certadmin-Listener": "mtls",
            "X-Certadmin-Client-Cert": escaped(world.certs["acme"]),
        },
    )

    _refused(answer, "not_mtls_listener")


def test_a_certificate_header_sent_through_the_mtls_listener_is_dropped(world: World) -> None:
    """No certificate presented in the handshake: nginx sends no header, whatever the client
    put there."""
    answer = curl(
        world.stack.mtls_url + world.path(),
        ca=world.stack.tls.ca,
        token=world.tokens["alice"],
        headers={"X-Certadmin-Client-Cert": escaped(world.certs["acme"])},
    )

    _refused(answer, "no_client_certificate")


def test_the_handshake_certificate_wins_over_a_forged_header(world: World) -> None:
    answer = curl(
        world.stack.mtls_url + world.path(),
        ca=world.stack.tls.ca,
        token=world.tokens["alice"],
        cert=world.certs["unknown"],
        headers={"X-Certadmin-Client-Cert": escaped(world.certs["acme"])},
    )

    _refused(answer, "unknown_certificate")


def test_underscored_header_names_do_not_sneak_through(world: World) -> None:
    """X_Certadmin_Client_Cert would become the same CGI variable: nginx drops it."""
    answer = curl(
        world.stack.tls_url + world.path(),
        ca=world.stack.tls.ca,
        token=world.tokens["alice"],
        headers={
            "X_Certadmin_Listener": "mtls",
            "X_Certadmin_Client_Cert": escaped(world.certs["acme"]),
        },
    )

    _refused(answer, "not_mtls_listener")


def test_underscored_header_names_sent_to_gunicorn_directly_are_dropped(world: World) -> None:
    answer = curl(
        world.stack.app_url + world.path(),
        token=world.tokens["alice"],
        headers={
            "X_Certadmin_Listener": "mtls",
            "X_Certadmin_Client_Cert": escaped(world.certs["acme"]),
        },
    )

    _refused(answer, "not_mtls_listener")


# --- tenant isolation -------------------------------------------------------------------------


def test_another_orgs_certificate_id_is_a_404(world: World) -> None:
    stack = world.stack
    theirs = world.globex_certificate.uuid

    for path in (f"{world.path()}{theirs}/", f"{world.path()}{theirs}/pem"):
        answer = curl(
            stack.mtls_url + path,
            ca=stack.tls.ca,
            token=world.tokens["alice"],
            cert=world.certs["acme"],
        )
        assert answer.status == 404, answer.body
        assert answer.json()["error"] == "not_found"


def test_another_orgs_list_is_a_404(world: World) -> None:
    answer = curl(
        world.stack.mtls_url + world.path(world.globex),
        ca=world.stack.tls.ca,
        token=world.tokens["alice"],
        cert=world.certs["acme"],
    )

    assert answer.status == 404


def test_the_pem_download_over_mutual_tls(world: World) -> None:
    answer = curl(
        f"{world.stack.mtls_url}{world.path()}{world.acme_certificate.uuid}/pem",
        ca=world.stack.tls.ca,
        token=world.tokens["alice"],
        cert=world.certs["acme"],
    )

    assert answer.status == 200
    assert answer.body.strip() == world.acme_certificate.chain_pem.strip()
    assert "PRIVATE KEY" not in answer.body
