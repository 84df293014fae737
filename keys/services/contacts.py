"""Encrypted custom fields ("Text (Encrypted)") on Contacts, and the contacts that hold them."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from keys import keyring
from keys.models import Contact, ContactField, ContactFieldValue
from keys.services import actor_name
from keys.services.master_keys import ensure_master_key
from orgs.models import Organization
from orgs.services.audit import Actor, record_audit

FIELDS_SECTION = "Customize Contacts"
CONTACTS_SECTION = "Contacts"


@transaction.atomic
def create_contact_field(
    *,
    org: Organization,
    label: str,
    api_name: str,
    mask_type: str,
    mask_char: str,
    acting_user: Actor,
    length: int = 175,
    help_text: str = "",
) -> ContactField:
    """Define a "Text (Encrypted)" field on the org's contacts; the org's first master key
    is created with its first encrypted field."""
    if ContactField.objects.filter(organization=org, api_name__iexact=api_name).exists():
        raise ValidationError({"api_name": "A field with this API Name already exists."})
    contact_field = ContactField(
        organization=org,
        label=label,
        api_name=api_name,
        length=length,
        mask_type=mask_type,
        mask_char=mask_char,
        help_text=help_text,
        created_by=actor_name(acting_user),
    )
    contact_field.full_clean()
    contact_field.save()
    ensure_master_key(org=org, acting_user=acting_user)
    record_audit(
        org=org,
        acting_user=acting_user,
        section=FIELDS_SECTION,
        action="createdEncryptedField",
        message=f"Created Text (Encrypted) field {label} ({api_name}) on Contact, "
        f"mask {contact_field.get_mask_type_display()} with {mask_char}",
    )
    return contact_field


@transaction.atomic
def update_contact_field(
    *,
    contact_field: ContactField,
    label: str,
    mask_type: str,
    mask_char: str,
    acting_user: Actor,
    help_text: str = "",
) -> None:
    """Change a field's label, help text or mask (the API Name and length stay)."""
    contact_field.label, contact_field.help_text = label, help_text
    contact_field.mask_type, contact_field.mask_char = mask_type, mask_char
    contact_field.full_clean()
    contact_field.save(update_fields=["label", "help_text", "mask_type", "mask_char"])
    record_audit(
        org=contact_field.organization,
        acting_user=acting_user,
        section=FIELDS_SECTION,
        action="changedEncryptedField",
        message=f"Changed Text (Encrypted) field {label} ({contact_field.api_name}): "
        f"mask {contact_field.get_mask_type_display()} with {mask_char}",
    )


@transaction.atomic
def save_contact(
    *,
    org: Organization,
    contact: Contact | None,
    first_name: str,
    last_name: str,
    email: str,
    values: Mapping[ContactField, str | None],
    acting_user: Actor,
) -> Contact:
    """Create (contact=None) or update a contact and its encrypted values.

    `values` maps a field to its new plaintext; "" removes the value and None keeps it as it
    is. Values are written under the org's active key.
    """
    actor = actor_name(acting_user)
    now = timezone.now()
    created = contact is None
    if contact is None:
        contact = Contact(organization=org, created_by=actor, created_at=now)
    elif contact.organization_id != org.pk:
        raise ValidationError("That contact belongs to another org.")
    contact.first_name, contact.last_name, contact.email = first_name, last_name, email
    contact.updated_by, contact.updated_at = actor, now
    contact.full_clean()
    contact.save()

    changed = []
    existing = {v.field_id: v for v in contact.values.all()} if not created else {}
    for contact_field, plain in values.items():
        if contact_field.organization_id != org.pk:
            raise ValidationError("That field belongs to another org.")
        if plain is None:
            continue
        current = existing.get(contact_field.pk)
        if plain == "":
            if current is not None:
                current.delete()
                changed.append(contact_field.api_name)
            continue
        if len(plain) > contact_field.length:
            raise ValidationError(
                {contact_field.api_name: f"At most {contact_field.length} characters."}
            )
        row = current or ContactFieldValue(contact=contact, field=contact_field, organization=org)
        row.value = plain
        row.save()
        changed.append(contact_field.api_name)

    what = "Created" if created else "Changed"
    detail = f" ({', '.join(changed)})" if changed else ""
    record_audit(
        org=org,
        acting_user=acting_user,
        section=CONTACTS_SECTION,
        action="createdContact" if created else "changedContact",
        message=f"{what} contact {contact.name}{detail}",
    )
    return contact


@transaction.atomic
def delete_contact(*, contact: Contact, acting_user: Actor) -> None:
    name, org = contact.name, contact.organization
    contact.delete()
    record_audit(
        org=org,
        acting_user=acting_user,
        section=CONTACTS_SECTION,
        action="deletedContact",
        message=f"Deleted contact {name}",
    )


@dataclass
class ContactRow:
    """A contact with its encrypted values as the viewer may see them (clear or masked)."""

    contact: Contact
    cells: list[str]


def present_contacts(
    contacts: Iterable[Contact],
    fields: list[ContactField],
    *,
    ring: keyring.Keyring,
    clear: bool,
) -> Iterable[ContactRow]:
    """One row per contact, one cell per field ("" when empty). Contacts must come with
    their `values` prefetched; nothing here queries except key material on a cache miss."""
    by_id = {f.pk: f for f in fields}
    for contact in contacts:
        cells = {}
        for value in contact.values.all():
            value.field = by_id[value.field_id]  # already loaded: no query for the mask
            cells[value.field_id] = value.value.display(clear=clear, ring=ring)
        yield ContactRow(contact, [cells.get(f.pk, "") for f in fields])
