"""Fixtures of the keys tests: an encrypted SSN field on Acme's contacts and a contact."""

import pytest
from django.contrib.auth.models import User

from keys.models import Contact, ContactField, ContactFieldValue
from keys.services import master_keys
from keys.services.contacts import create_contact_field, save_contact
from orgs.models import Organization

SSN = "123-45-6789"


@pytest.fixture(autouse=True)
def cheap_export_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key export files with a cheap scrypt cost; tests/keys/test_crypto.py covers the real one."""
    monkeypatch.setattr(master_keys, "EXPORT_SCRYPT_N", 2**4)


@pytest.fixture
def ssn_field(acme: Organization, alice: User) -> ContactField:
    """Acme's "SSN" field, masked as a Social Security Number with X. Creates key 1."""
    return create_contact_field(
        org=acme, label="SSN", api_name="SSN", mask_type="ssn", mask_char="X", acting_user=alice
    )


@pytest.fixture
def jane(acme: Organization, alice: User, ssn_field: ContactField) -> Contact:
    """A contact of Acme whose SSN is 123-45-6789."""
    return save_contact(
        org=acme,
        contact=None,
        first_name="Jane",
        last_name="Doe",
        email="jane@example.test",
        values={ssn_field: SSN},
        acting_user=alice,
    )


def value_row(contact: Contact, field: ContactField) -> ContactFieldValue:
    return ContactFieldValue.objects.select_related("field").get(contact=contact, field=field)


def add_contacts(org: Organization, field: ContactField, values: list[str]) -> list[Contact]:
    return [
        save_contact(
            org=org,
            contact=None,
            first_name="Person",
            last_name=f"{i:04d}",
            email="",
            values={field: value},
            acting_user=None,
        )
        for i, value in enumerate(values)
    ]
