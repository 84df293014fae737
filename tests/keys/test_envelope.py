import base64
import os
import stat

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from keys import envelope

KEK_A = base64.b64encode(b"A" * 32).decode()
KEK_B = base64.b64encode(b"B" * 32).decode()
SECRET = b"-----BEGIN PRIVATE KEY-----\nsecret material\n"


def test_sealed_blob_opens_with_the_same_purpose_and_hides_the_plaintext() -> None:
    blob = envelope.seal(SECRET, purpose="certadmin.Certificate.private_key")

    assert SECRET not in blob
    assert b"secret material" not in blob
    assert envelope.open_sealed(blob, purpose="certadmin.Certificate.private_key") == SECRET


def test_two_seals_of_the_same_secret_differ() -> None:
    assert envelope.seal(SECRET, purpose="p") != envelope.seal(SECRET, purpose="p")


def test_a_blob_moved_to_another_kind_of_field_does_not_open() -> None:
    blob = envelope.seal(SECRET, purpose="certadmin.Certificate.private_key")

    with pytest.raises(envelope.SealedDataError):
        envelope.open_sealed(blob, purpose="keys.MasterKey.material")


@pytest.mark.parametrize("position", [0, 5, 30, 80, -1])
def test_a_damaged_blob_raises_instead_of_returning_garbage(position: int) -> None:
    blob = bytearray(envelope.seal(SECRET, purpose="p"))
    blob[position] ^= 0x01

    with pytest.raises(envelope.SealedDataError):
        envelope.open_sealed(bytes(blob), purpose="p")


def test_truncated_blob_raises() -> None:
    blob = envelope.seal(SECRET, purpose="p")

    with pytest.raises(envelope.SealedDataError):
        envelope.open_sealed(blob[:40], purpose="p")


def test_first_kek_encrypts_and_every_configured_kek_decrypts() -> None:
    with override_settings(CERTADMIN_KEKS=[KEK_A]):
        old = envelope.seal(SECRET, purpose="p")
    with override_settings(CERTADMIN_KEKS=[KEK_B, KEK_A]):
        new = envelope.seal(SECRET, purpose="p")
        assert envelope.open_sealed(old, purpose="p") == SECRET
        assert not envelope.is_current(old)
        assert envelope.is_current(new)
        rewrapped = envelope.rewrap(old, purpose="p")
    with override_settings(CERTADMIN_KEKS=[KEK_B]):
        assert envelope.open_sealed(rewrapped, purpose="p") == SECRET
        with pytest.raises(envelope.SealedDataError, match="not configured"):
            envelope.open_sealed(old, purpose="p")


def test_kek_is_generated_on_first_use_into_a_0600_file(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "var", "kek.key")
    with override_settings(CERTADMIN_KEKS=[], CERTADMIN_KEK_FILE=path, CERTADMIN_KEK_GENERATE=True):
        blob = envelope.seal(SECRET, purpose="p")
        assert envelope.open_sealed(blob, purpose="p") == SECRET

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as handle:
        assert len(base64.b64decode(handle.read().strip())) == 32


def test_missing_kek_file_is_an_error_when_generation_is_off(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "absent.key")
    with (
        override_settings(CERTADMIN_KEKS=[], CERTADMIN_KEK_FILE=path, CERTADMIN_KEK_GENERATE=False),
        pytest.raises(ImproperlyConfigured, match="does not exist"),
    ):
        envelope.seal(SECRET, purpose="p")


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_malformed_kek_is_refused_with_a_clear_message(bad: str) -> None:
    with override_settings(CERTADMIN_KEKS=[bad]), pytest.raises(ImproperlyConfigured):
        envelope.seal(SECRET, purpose="p")
