"""keyring.TokenRotator (the re-encryption job's fast path) agrees with keys.crypto."""

import base64

import pytest

from keys import crypto
from keys.keyring import TokenRotator

AAD = b"keys.ContactFieldValue.value|org=7"
OLD, NEW = crypto.generate_master_key(), crypto.generate_master_key()


def _rotator() -> TokenRotator:
    return TokenRotator(old_key=OLD, old_version=1, new_key=NEW, new_version=2, aad=AAD)


@pytest.mark.parametrize("plain", [b"", b"x", b"123-45-6789", "Zoë ✓".encode(), b"y" * 700])
def test_a_rotated_token_is_a_crypto_token_of_the_new_key(plain: bytes) -> None:
    token = crypto.encrypt_value(OLD, 1, plain, aad=AAD).decode()

    rotated = _rotator().rotate(token)

    assert crypto.version_of(rotated.encode()) == 2
    assert crypto.decrypt_value(NEW, rotated.encode(), aad=AAD) == plain


def _non_canonical(token: str) -> str:
    """The same bytes with non-zero unused bits in the last base64 character."""
    prefix, payload = token.split(":", 1)
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    index = alphabet.index(payload[-1].encode())
    return f"{prefix}:{payload[:-1]}{chr(alphabet[index + 1])}"


def _malformed() -> list[object]:
    """Named cases (test ids must not depend on the random keys: pytest-xdist compares them)."""
    good = crypto.encrypt_value(OLD, 1, b"123-45-6789", aad=AAD).decode()
    for extra in range(1, 4):  # a token whose length leaves unused bits in its last character
        if len(good.split(":", 1)[1]) % 4:
            break
        good = crypto.encrypt_value(OLD, 1, b"123-45-6789" + b"!" * extra, aad=AAD).decode()
    payload = good.split(":", 1)[1]
    cases = {
        "relabelled": "v2:" + payload,
        "leading-zero": "v01:" + payload,
        "padding": "v1:" + payload + "=",
        "newline": "v1:" + payload + "\n",
        "plus": "v1:" + payload[:5] + "+" + payload[6:],
        "slash": "v1:" + payload[:10] + "/" + payload[11:],
        "truncated": "v1:" + payload[:-2],
        "altered": "v1:" + payload[:-1] + ("A" if payload[-1] != "A" else "Q"),
        "too-short": "v1:" + base64.urlsafe_b64encode(b"short").decode().rstrip("="),
        "empty": "v1:",
        "non-ascii": "v1:ü" + payload,
        "non-canonical": _non_canonical(good),
        "other-aad": crypto.encrypt_value(OLD, 1, b"other aad", aad=b"other").decode(),
        "other-key": crypto.encrypt_value(NEW, 1, b"other key", aad=AAD).decode(),
    }
    return [pytest.param(token, id=name) for name, token in cases.items()]


@pytest.mark.parametrize("token", _malformed())
def test_what_crypto_refuses_the_rotator_refuses(token: str) -> None:
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_value(OLD, token.encode("utf-8"), aad=AAD)
    with pytest.raises(crypto.DecryptionError):
        _rotator().rotate(token)
