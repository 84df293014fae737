"""EncryptedTextField and the keyring behind it."""

import pickle

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from keys import crypto, keyring
from keys.fields import EncryptedText
from keys.models import Contact, ContactField, ContactFieldValue, MasterKey
from keys.services.contacts import create_contact_field, save_contact
from keys.services.master_keys import destroy_master_key, rotate_master_key
from orgs.models import Organization
from tests.keys.conftest import SSN, value_row


def test_the_column_holds_a_token_naming_the_key(jane: Contact, ssn_field: ContactField) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT value_token, key_version FROM keys_contactfieldvalue")
        token, version = cursor.fetchone()

    assert token.startswith("v1:")
    assert SSN not in token
    assert version == 1


def test_a_loaded_value_never_prints_its_plaintext_or_token(
    jane: Contact, ssn_field: ContactField
) -> None:
    value = value_row(jane, ssn_field).value

    assert str(value) == "(encrypted)"
    assert SSN not in repr(value)
    assert value.token not in repr(value)
    assert value.reveal() == SSN


def test_pickling_keeps_the_token_only(jane: Contact, ssn_field: ContactField) -> None:
    value = value_row(jane, ssn_field).value
    value.reveal()

    restored = pickle.loads(pickle.dumps(value))

    assert SSN.encode() not in pickle.dumps(value)
    assert restored.token == value.token


def test_saving_moves_a_value_to_the_active_key(
    acme: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    rotate_master_key(org=acme, acting_user=None)
    row = value_row(jane, ssn_field)

    row.save()

    row = value_row(jane, ssn_field)
    assert row.key_version == 2
    assert row.value.reveal() == SSN


def test_saving_keeps_a_value_whose_key_is_destroyed(
    acme: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    rotate_master_key(org=acme, acting_user=None)
    before = value_row(jane, ssn_field).value.token
    destroy_master_key(org=acme, version=1, confirmation="DESTROY KEY 1", acting_user=None)

    value_row(jane, ssn_field).save()

    assert value_row(jane, ssn_field).value.token == before


def test_a_token_from_another_org_does_not_decrypt(
    acme: Organization, globex: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    """Org and field are bound into every token: copying one across orgs gives an error."""
    globex_field = create_contact_field(
        org=globex, label="SSN", api_name="SSN", mask_type="ssn", mask_char="X", acting_user=None
    )
    other = save_contact(
        org=globex,
        contact=None,
        first_name="",
        last_name="Other",
        email="",
        values={globex_field: "000-00-0000"},
        acting_user=None,
    )
    stolen = value_row(jane, ssn_field).value.token
    ContactFieldValue.objects.filter(contact=other).update(value=stolen)

    with pytest.raises(crypto.DecryptionError):
        value_row(other, globex_field).value.reveal()


def test_an_altered_token_raises_instead_of_passing_through(
    jane: Contact, ssn_field: ContactField
) -> None:
    token = value_row(jane, ssn_field).value.token
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    ContactFieldValue.objects.filter(contact=jane).update(value=altered)

    value = value_row(jane, ssn_field).value

    with pytest.raises(crypto.DecryptionError):
        value.reveal()
    assert value.display(clear=True) == "unavailable"


def test_a_token_naming_an_unknown_key_is_unavailable(
    jane: Contact, ssn_field: ContactField
) -> None:
    token = value_row(jane, ssn_field).value.token
    ContactFieldValue.objects.filter(contact=jane).update(value="v9" + token[2:])

    with pytest.raises(keyring.KeyUnavailable, match="Master key 9"):
        value_row(jane, ssn_field).value.reveal()


def test_a_value_longer_than_the_field_is_refused(
    acme: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    row = ContactFieldValue(contact=jane, field=ssn_field, organization=acme, value="x" * 176)

    with pytest.raises(ValidationError, match="At most 175 characters"):
        row.full_clean(exclude=["contact", "field"])


def test_an_org_without_a_key_cannot_encrypt(acme: Organization) -> None:
    with pytest.raises(keyring.NoActiveKey):
        keyring.Keyring.load(acme.pk).encrypt("x", aad=b"")


def test_an_unsaved_value_has_no_token(acme: Organization) -> None:
    value = EncryptedText(plain="secret")

    assert value.token is None
    assert repr(value) == "<EncryptedText unsaved>"


def test_loading_a_keyring_reads_states_only_and_material_once_per_process(
    acme: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    token = value_row(jane, ssn_field).value.token
    aad = ContactFieldValue._meta.get_field("value").aad(acme.pk)  # type: ignore[union-attr]
    keyring.forget(acme.pk, 1)

    with CaptureQueriesContext(connection) as first:
        keyring.Keyring.load(acme.pk).decrypt(token, aad=aad)
    with CaptureQueriesContext(connection) as second:
        keyring.Keyring.load(acme.pk).decrypt(token, aad=aad)

    assert len(first) == 2  # key states, then the sealed material
    assert len(second) == 1  # key states only
    assert "material" not in second[0]["sql"]


def test_the_process_cache_never_answers_for_a_different_key(
    acme: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    """A cached entry is checked against the key check value the database returns."""
    key = MasterKey.objects.get(organization=acme)
    keyring._remember(acme.pk, 1, "00000000", crypto.generate_master_key())  # stale entry

    assert value_row(jane, ssn_field).value.reveal() == SSN
    assert keyring._recall(acme.pk, 1, key.kcv) is not None


def test_plaintext_given_to_update_is_refused_not_stored(
    jane: Contact, ssn_field: ContactField
) -> None:
    with pytest.raises(ValueError, match="Not an encrypted token"), transaction.atomic():
        ContactFieldValue.objects.filter(contact=jane).update(value=SSN)

    assert value_row(jane, ssn_field).value.reveal() == SSN
