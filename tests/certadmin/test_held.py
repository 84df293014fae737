"""Objects kept around a key (certadmin.held): bounded, least recently used out first, built
once per key, per thread where asked, closed when they fall out; and the SAML key managers
kept per certificate never serve another certificate's key."""

import threading
from datetime import UTC, datetime

import pytest
import xmlsec
from cryptography.hazmat.primitives import serialization

from certadmin import saml, saml_acs
from certadmin.crypto import building, keypairs
from certadmin.held import Held


def test_builds_once_per_key_and_drops_the_least_recently_used() -> None:
    closed: list[str] = []
    built: list[str] = []
    held: Held[str] = Held(2, close=closed.append)

    def build(value: str) -> str:
        built.append(value)
        return value

    assert held.get("a", lambda: build("A")) == "A"
    assert held.get("a", lambda: build("A again")) == "A"
    held.get("b", lambda: build("B"))
    held.get("a", lambda: build("A again"))  # a is now the most recently used
    held.get("c", lambda: build("C"))  # b falls out

    assert built == ["A", "B", "C"]
    assert closed == ["B"]
    assert len(held) == 2
    assert held.get("b", lambda: build("B2")) == "B2"
    assert closed == ["B", "A"]

    held.clear()
    assert sorted(closed) == ["A", "B", "B2", "C"]
    assert len(held) == 0


def test_per_thread_entries_are_not_shared_and_clear_reaches_every_thread() -> None:
    held: Held[object] = Held(4, per_thread=True)
    mine = held.get("k", object)
    theirs: list[object] = []
    after_clear: list[object] = []
    cleared = threading.Event()
    taken = threading.Event()

    def other() -> None:
        theirs.append(held.get("k", object))
        theirs.append(held.get("k", object))
        taken.set()
        cleared.wait(5)
        after_clear.append(held.get("k", object))

    thread = threading.Thread(target=other)
    thread.start()
    taken.wait(5)
    held.clear()
    cleared.set()
    thread.join(5)

    assert theirs[0] is theirs[1]  # kept within the thread
    assert theirs[0] is not mine  # but not shared with this one
    assert after_clear[0] is not theirs[0]  # clear() emptied the other thread's entries too
    assert held.get("k", object) is not mine


def _key_and_certificate(name: str) -> tuple[keypairs.PrivateKey, object]:
    key = keypairs.generate_private_key("RSA-2048")
    return key, building.build_self_signed(
        key, common_name=name, org_unit=name, org_name=name, now=datetime.now(UTC)
    )


def _decrypt(body: bytes, key: keypairs.PrivateKey) -> bytes:
    document = saml_acs.parse_document(body)
    data = document.find(f".//{{{saml_acs.XENC}}}EncryptedData")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return bytes(xmlsec.EncryptionContext(saml_acs.decryption_keys(pem)).decrypt(data).tag, "utf-8")


def test_assertions_are_encrypted_to_the_certificate_asked_for_each_time() -> None:
    """The Identity Provider keeps one key manager per service provider certificate: an
    assertion for the second certificate opens with its key only, not the first one's."""
    idp_key, idp_cert = _key_and_certificate("idp")
    (first_key, first), (second_key, second) = _key_and_certificate("a"), _key_and_certificate("b")

    def response(to: object) -> bytes:
        return saml.idp_response(
            issuer="https://idp.test",
            acs_url="https://sp.test/acs",
            audience="https://sp.test",
            in_response_to=None,
            name_id="alice@acme.test",
            name_id_format=saml.NAMEID_UNSPECIFIED,
            attributes={},
            now=datetime.now(UTC),
            key=idp_key,  # type: ignore[arg-type]
            chain=[idp_cert],  # type: ignore[list-item]
            encrypt_to=to,  # type: ignore[arg-type]
        )

    assertion = f"{{{saml.SAML}}}Assertion".encode()
    assert _decrypt(response(first), first_key) == assertion
    for_second = response(second)
    assert _decrypt(for_second, second_key) == assertion
    with pytest.raises(xmlsec.Error):
        _decrypt(for_second, first_key)
