"""The master key lifecycle: Active → Archived → Destroyed → (import) → Archived."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from keys import crypto, envelope, keyring
from keys.fields import SealedBinaryField
from keys.models import Contact, ContactField, MasterKey
from keys.services.contacts import create_contact_field
from keys.services.kek import rewrap_all_secrets
from keys.services.master_keys import (
    KEYS_SECTION,
    destroy_master_key,
    ensure_master_key,
    export_master_key,
    import_master_key,
    rotate_master_key,
)
from orgs.models import AuditEvent, Organization
from tests.keys.conftest import SSN, value_row

PASSWORD = "export password 1"


def _states(org: Organization) -> dict[int, str]:
    return dict(MasterKey.objects.filter(organization=org).values_list("version", "state"))


def test_first_encrypted_field_creates_key_1(acme: Organization, ssn_field: ContactField) -> None:
    key = MasterKey.objects.get(organization=acme)

    assert (key.version, key.state) == (1, MasterKey.State.ACTIVE)
    assert key.kcv == crypto.key_check_value(keyring.unwrap(bytes(key.material), kcv=key.kcv))


def test_later_fields_use_the_same_key(
    acme: Organization, alice: User, ssn_field: ContactField
) -> None:
    create_contact_field(
        org=acme,
        label="IBAN",
        api_name="IBAN",
        mask_type="last_four",
        mask_char="*",
        acting_user=alice,
    )

    assert _states(acme) == {1: "active"}


def test_rotation_archives_the_active_key_and_activates_the_next(
    acme: Organization, alice: User, ssn_field: ContactField
) -> None:
    key = rotate_master_key(org=acme, acting_user=alice)

    assert key.version == 2
    assert _states(acme) == {1: "archived", 2: "active"}
    assert MasterKey.objects.get(organization=acme, version=1).archived_at is not None


def test_rotation_needs_a_key(acme: Organization, alice: User) -> None:
    with pytest.raises(ValidationError, match="no master key yet"):
        rotate_master_key(org=acme, acting_user=alice)


def test_orgs_number_their_keys_independently(
    acme: Organization, globex: Organization, ssn_field: ContactField
) -> None:
    rotate_master_key(org=acme, acting_user=None)
    ensure_master_key(org=globex, acting_user=None)

    assert _states(globex) == {1: "active"}


def test_the_database_refuses_a_second_active_key(
    acme: Organization, ssn_field: ContactField
) -> None:
    key = MasterKey.objects.get(organization=acme)

    with pytest.raises(IntegrityError), transaction.atomic():
        MasterKey.objects.create(
            organization=acme, version=2, material=key.material, kcv=key.kcv, created_by="x"
        )


def test_the_database_refuses_material_on_a_destroyed_key(
    acme: Organization, ssn_field: ContactField
) -> None:
    rotate_master_key(org=acme, acting_user=None)

    with pytest.raises(IntegrityError), transaction.atomic():
        MasterKey.objects.filter(organization=acme, version=1).update(state="destroyed")


def test_a_value_written_before_a_rotation_still_reads(
    acme: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    rotate_master_key(org=acme, acting_user=None)
    rotate_master_key(org=acme, acting_user=None)

    row = value_row(jane, ssn_field)

    assert row.key_version == 1
    assert row.value.reveal() == SSN


def test_only_archived_keys_are_exported(acme: Organization, ssn_field: ContactField) -> None:
    with pytest.raises(ValidationError, match="Only archived keys can be exported"):
        export_master_key(org=acme, version=1, password=PASSWORD, acting_user=None)


def test_export_needs_a_key_of_the_org(acme: Organization, ssn_field: ContactField) -> None:
    with pytest.raises(ValidationError, match="no master key 7"):
        export_master_key(org=acme, version=7, password=PASSWORD, acting_user=None)


def test_only_archived_keys_are_destroyed(acme: Organization, ssn_field: ContactField) -> None:
    with pytest.raises(ValidationError, match="Only archived keys can be destroyed"):
        destroy_master_key(org=acme, version=1, confirmation="DESTROY KEY 1", acting_user=None)

    assert _states(acme) == {1: "active"}


def test_destroy_needs_the_typed_confirmation(acme: Organization, ssn_field: ContactField) -> None:
    rotate_master_key(org=acme, acting_user=None)

    with pytest.raises(ValidationError, match="Type DESTROY KEY 1 to confirm"):
        destroy_master_key(org=acme, version=1, confirmation="yes", acting_user=None)

    assert _states(acme)[1] == "archived"


def test_destroy_wipes_the_material_and_counts_the_lost_values(
    acme: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    rotate_master_key(org=acme, acting_user=None)

    lost = destroy_master_key(org=acme, version=1, confirmation=" DESTROY KEY 1 ", acting_user=None)

    key = MasterKey.objects.get(organization=acme, version=1)
    assert lost == 1
    assert (key.state, key.material) == ("destroyed", None)
    with pytest.raises(keyring.KeyUnavailable):
        value_row(jane, ssn_field).value.reveal()


def test_a_destroyed_key_stops_decrypting_although_this_process_cached_it(
    acme: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    """Another process destroys the key: this one's cache must not keep it alive."""
    rotate_master_key(org=acme, acting_user=None)
    assert value_row(jane, ssn_field).value.reveal() == SSN  # key 1 is now cached here
    MasterKey.objects.filter(organization=acme, version=1).update(state="destroyed", material=None)

    assert value_row(jane, ssn_field).value.display(clear=True) == "unavailable"


def _destroyed_with_export(org: Organization) -> str:
    rotate_master_key(org=org, acting_user=None)
    text = export_master_key(org=org, version=1, password=PASSWORD, acting_user=None)
    destroy_master_key(org=org, version=1, confirmation="DESTROY KEY 1", acting_user=None)
    return text


def test_import_brings_a_destroyed_key_back_as_archived(
    acme: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    text = _destroyed_with_export(acme)

    import_master_key(org=acme, version=1, text=text, password=PASSWORD, acting_user=None)

    assert _states(acme) == {1: "archived", 2: "active"}
    assert value_row(jane, ssn_field).value.reveal() == SSN


def test_import_refuses_a_wrong_password(acme: Organization, ssn_field: ContactField) -> None:
    text = _destroyed_with_export(acme)

    with pytest.raises(ValidationError, match="The password is incorrect"):
        import_master_key(
            org=acme, version=1, text=text, password="not it at all", acting_user=None
        )

    assert _states(acme)[1] == "destroyed"


def test_import_refuses_another_orgs_key(
    acme: Organization, globex: Organization, ssn_field: ContactField
) -> None:
    _destroyed_with_export(acme)
    ensure_master_key(org=globex, acting_user=None)
    globex_file = _destroyed_with_export(globex)

    with pytest.raises(ValidationError, match="another org"):
        import_master_key(
            org=acme, version=1, text=globex_file, password=PASSWORD, acting_user=None
        )


def test_import_refuses_a_different_key_with_the_same_number(
    acme: Organization, ssn_field: ContactField
) -> None:
    _destroyed_with_export(acme)
    forged = crypto.export_key(
        key=crypto.generate_master_key(),
        org_public_id=acme.public_id,
        version=1,
        password=PASSWORD,
        scrypt_n=2**4,
    )

    with pytest.raises(ValidationError, match="different key"):
        import_master_key(org=acme, version=1, text=forged, password=PASSWORD, acting_user=None)


def test_import_refuses_another_key_number(acme: Organization, ssn_field: ContactField) -> None:
    rotate_master_key(org=acme, acting_user=None)
    rotate_master_key(org=acme, acting_user=None)
    key2 = export_master_key(org=acme, version=2, password=PASSWORD, acting_user=None)
    for version in (1, 2):
        destroy_master_key(
            org=acme, version=version, confirmation=f"DESTROY KEY {version}", acting_user=None
        )

    with pytest.raises(ValidationError, match="key version 2, not version 1"):
        import_master_key(org=acme, version=1, text=key2, password=PASSWORD, acting_user=None)


def test_import_refuses_keys_that_are_not_destroyed(
    acme: Organization, ssn_field: ContactField
) -> None:
    rotate_master_key(org=acme, acting_user=None)
    text = export_master_key(org=acme, version=1, password=PASSWORD, acting_user=None)

    with pytest.raises(ValidationError, match="Only destroyed keys can be imported"):
        import_master_key(org=acme, version=1, text=text, password=PASSWORD, acting_user=None)


def test_import_refuses_a_file_that_is_not_an_export(
    acme: Organization, ssn_field: ContactField
) -> None:
    _destroyed_with_export(acme)

    with pytest.raises(ValidationError, match="not a certadmin master key export"):
        import_master_key(org=acme, version=1, text="hello", password=PASSWORD, acting_user=None)


def test_every_key_operation_is_audited_without_secrets(
    acme: Organization, alice: User, jane: Contact, ssn_field: ContactField
) -> None:
    text = _destroyed_with_export(acme)
    import_master_key(org=acme, version=1, text=text, password=PASSWORD, acting_user=alice)

    trail = AuditEvent.objects.filter(organization=acme, section=KEYS_SECTION)
    actions = set(trail.values_list("action", flat=True))
    assert {
        "createdMasterKey",
        "rotatedMasterKey",
        "exportedMasterKey",
        "destroyedMasterKey",
        "importedMasterKey",
    } <= actions
    key = MasterKey.objects.get(organization=acme, version=1)
    material = keyring.unwrap(bytes(key.material), kcv=key.kcv)
    for message in AuditEvent.objects.filter(organization=acme).values_list("message", flat=True):
        assert PASSWORD not in message
        assert SSN not in message
        assert material.hex() not in message


def test_kek_rotation_rewraps_master_keys(
    acme: Organization, jane: Contact, ssn_field: ContactField, settings: object
) -> None:
    old = list(envelope.configured_keks())
    new_kek = "bmV3LWtleS1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcyE="
    settings.CERTADMIN_KEKS = [new_kek, *settings.CERTADMIN_KEKS]  # type: ignore[attr-defined]

    reports = {r.field: r for r in rewrap_all_secrets()}

    assert reports["keys.MasterKey.material"].rewrapped == 1
    key = MasterKey.objects.get(organization=acme)
    assert envelope.is_current(bytes(key.material))
    assert old[0].kek_id != envelope.configured_keks()[0].kek_id
    keyring.forget(acme.pk, 1)
    assert value_row(jane, ssn_field).value.reveal() == SSN


def test_the_keyring_opens_master_keys_under_the_purpose_rotate_kek_rewraps_them_with() -> None:
    """keyring.MATERIAL_PURPOSE is the material field's purpose, written out so the keyring
    needs no model to open a key; renaming the field or the model must change both."""
    field = MasterKey._meta.get_field("material")

    assert isinstance(field, SealedBinaryField)
    assert field.purpose == keyring.MATERIAL_PURPOSE
