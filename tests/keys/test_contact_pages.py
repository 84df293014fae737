"""Contacts with encrypted fields: who sees what, in pages, CSV and the admin."""

import lxml.html
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from keys.models import Contact, ContactField, ContactFieldValue
from keys.services.contacts import create_contact_field, save_contact, update_contact_field
from keys.services.master_keys import (
    destroy_master_key,
    export_master_key,
    import_master_key,
    rotate_master_key,
)
from orgs.models import AuditEvent, Organization
from tests.conftest import grant
from tests.factories import UserFactory
from tests.keys.conftest import SSN, add_contacts, value_row

# (mask type, mask character, value, what a user without View Encrypted Data sees)
MASKS = [
    ("all", "*", "open sesame", "***********"),
    ("last_four", "X", "0123456789", "XXXXXX6789"),
    ("credit_card", "*", "4111 1111 1111 1234", "****-****-****-1234"),
    ("nino", "X", "QQ 12 34 56 C", "XX XX XX XX X"),
    ("ssn", "X", "123-45-6789", "XXX-XX-6789"),
    ("sin", "*", "046 454 286", "***-***-286"),
]


def _url(name: str, org: Organization, *args: object) -> str:
    return reverse(f"keys:{name}", args=[org.public_id, *args])


@pytest.fixture
def masked_contact(request: pytest.FixtureRequest, acme: Organization) -> tuple[Contact, str, str]:
    mask_type, mask_char, value, masked = request.param
    field = create_contact_field(
        org=acme,
        label="Secret",
        api_name="Secret",
        mask_type=mask_type,
        mask_char=mask_char,
        acting_user=None,
    )
    (contact,) = add_contacts(acme, field, [value])
    return contact, value, masked


@pytest.mark.parametrize("masked_contact", MASKS, indirect=True, ids=[m[0] for m in MASKS])
def test_member_without_view_encrypted_data_sees_the_mask_everywhere(
    client: Client, acme: Organization, bob: User, masked_contact: tuple[Contact, str, str]
) -> None:
    contact, value, masked = masked_contact
    client.force_login(bob)

    pages = [
        client.get(_url("contact-list", acme)),
        client.get(contact.get_absolute_url()),
    ]
    csv_text = b"".join(client.get(_url("contact-csv", acme)).streaming_content).decode()

    for page in pages:
        assertContains(page, masked)
        assertNotContains(page, value)
    assert masked in csv_text
    assert value not in csv_text


@pytest.mark.parametrize("masked_contact", MASKS, indirect=True, ids=[m[0] for m in MASKS])
def test_view_encrypted_data_shows_the_value(
    alice_client: Client, acme: Organization, masked_contact: tuple[Contact, str, str]
) -> None:
    contact, value, _ = masked_contact

    page = alice_client.get(contact.get_absolute_url())
    csv_text = b"".join(alice_client.get(_url("contact-csv", acme)).streaming_content).decode()

    assertContains(page, value)
    assert value in csv_text


def test_a_member_creates_a_contact_and_sees_it_masked(
    client: Client, acme: Organization, bob: User, ssn_field: ContactField
) -> None:
    client.force_login(bob)

    response = client.post(
        _url("contact-create", acme),
        {"first_name": "Ann", "last_name": "Lee", "email": "", "cf_SSN": "987-65-4321"},
        follow=True,
    )

    assertContains(response, "Saved contact Ann Lee.")
    assertContains(response, "XXX-XX-4321")
    assertNotContains(response, "987-65-4321")
    contact = Contact.objects.get(last_name="Lee")
    assert value_row(contact, ssn_field).value.reveal() == "987-65-4321"


def test_a_masked_editor_keeps_a_value_by_leaving_it_blank(
    client: Client, acme: Organization, bob: User, jane: Contact, ssn_field: ContactField
) -> None:
    client.force_login(bob)
    form = client.get(_url("contact-edit", acme, jane.uuid))

    client.post(
        _url("contact-edit", acme, jane.uuid),
        {"first_name": "Janet", "last_name": "Doe", "email": "", "cf_SSN": ""},
    )

    assertContains(form, "Current value: XXX-XX-6789")
    assertNotContains(form, SSN)
    assert value_row(jane, ssn_field).value.reveal() == SSN
    assert Contact.objects.get(pk=jane.pk).first_name == "Janet"


def test_a_masked_editor_replaces_a_value(
    client: Client, acme: Organization, bob: User, jane: Contact, ssn_field: ContactField
) -> None:
    client.force_login(bob)

    client.post(
        _url("contact-edit", acme, jane.uuid),
        {"first_name": "Jane", "last_name": "Doe", "email": "", "cf_SSN": "111-22-3333"},
    )

    assert value_row(jane, ssn_field).value.reveal() == "111-22-3333"


def test_an_editor_with_view_encrypted_data_sees_and_removes_a_value(
    alice_client: Client, acme: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    form = alice_client.get(_url("contact-edit", acme, jane.uuid))

    alice_client.post(
        _url("contact-edit", acme, jane.uuid),
        {"first_name": "Jane", "last_name": "Doe", "email": "", "cf_SSN": ""},
    )

    assertContains(form, f'value="{SSN}"')
    assert not ContactFieldValue.objects.filter(contact=jane).exists()


def test_a_value_too_long_is_refused_with_a_message(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    response = alice_client.post(
        _url("contact-create", acme), {"last_name": "Long", "cf_SSN": "9" * 176}
    )

    assertContains(response, "at most 175 characters", status_code=400)
    assert not Contact.objects.exists()


def test_an_invalid_email_is_refused_with_a_message(
    alice_client: Client, acme: Organization
) -> None:
    response = alice_client.post(
        _url("contact-create", acme), {"last_name": "Lee", "email": "not an email"}
    )

    assertContains(response, "Enter a valid email address.", status_code=400)


def test_values_under_a_destroyed_key_show_unavailable_until_it_is_imported(
    alice_client: Client, acme: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    rotate_master_key(org=acme, acting_user=None)
    exported = export_master_key(org=acme, version=1, password="export password", acting_user=None)
    destroy_master_key(org=acme, version=1, confirmation="DESTROY KEY 1", acting_user=None)

    destroyed = alice_client.get(jane.get_absolute_url())
    import_master_key(
        org=acme, version=1, text=exported, password="export password", acting_user=None
    )
    imported = alice_client.get(jane.get_absolute_url())

    assertContains(destroyed, "unavailable")
    assertNotContains(destroyed, SSN)
    assertContains(imported, SSN)


def test_editing_a_contact_keeps_a_value_whose_key_is_destroyed(
    alice_client: Client, acme: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    rotate_master_key(org=acme, acting_user=None)
    destroy_master_key(org=acme, version=1, confirmation="DESTROY KEY 1", acting_user=None)
    token = value_row(jane, ssn_field).value.token

    alice_client.post(
        _url("contact-edit", acme, jane.uuid),
        {"first_name": "Jane", "last_name": "Doe", "email": "", "cf_SSN": ""},
    )

    assert value_row(jane, ssn_field).value.token == token


def test_deleting_a_contact_deletes_its_values(
    alice_client: Client, acme: Organization, jane: Contact
) -> None:
    confirm = alice_client.get(_url("contact-delete", acme, jane.uuid))

    alice_client.post(_url("contact-delete", acme, jane.uuid))

    assertContains(confirm, "cannot be undone")
    assert not Contact.objects.exists()
    assert not ContactFieldValue.objects.exists()


def test_contact_changes_are_audited_without_values(
    client: Client, acme: Organization, bob: User, jane: Contact
) -> None:
    client.force_login(bob)

    client.post(
        _url("contact-edit", acme, jane.uuid),
        {"first_name": "Jane", "last_name": "Doe", "email": "", "cf_SSN": "555-55-5555"},
    )

    event = AuditEvent.objects.filter(organization=acme, action="changedContact").get()
    assert event.message == "Changed contact Jane Doe (SSN)"
    assert event.actor_name == "bob"


def test_csv_neutralises_formulas(alice_client: Client, acme: Organization) -> None:
    save_contact(
        org=acme,
        contact=None,
        first_name="=cmd()",
        last_name="Evil",
        email="",
        values={},
        acting_user=None,
    )

    csv_text = b"".join(alice_client.get(_url("contact-csv", acme)).streaming_content).decode()

    assert "'=cmd()" in csv_text


def test_csv_neutralises_the_field_labels_in_the_header(
    alice_client: Client, acme: Organization
) -> None:
    create_contact_field(
        org=acme,
        label="-2+3+cmd",
        api_name="Evil",
        mask_type="all",
        mask_char="*",
        acting_user=None,
    )

    csv_text = b"".join(alice_client.get(_url("contact-csv", acme)).streaming_content).decode()

    assert csv_text.splitlines()[0] == "First Name,Last Name,Email,'-2+3+cmd"


HOSTILE_HELP = "<img src=x onerror=alert(1)>"


def _help_texts(response: HttpResponse) -> list[str]:
    """The help text under each input, as a browser shows it (and any <img> the HTML has)."""
    doc = lxml.html.document_fromstring(response.content)
    assert doc.xpath("//img") == []
    return [div.text_content() for div in doc.xpath("//div[@class='helptext']")]


@pytest.mark.parametrize("page", ["contact-create", "contact-edit"])
def test_field_help_text_is_shown_as_text_on_the_contact_forms(
    alice_client: Client, acme: Organization, ssn_field: ContactField, jane: Contact, page: str
) -> None:
    """A Customize Application user's help text is data: never HTML (issue 13, stored XSS)."""
    update_contact_field(
        contact_field=ssn_field,
        label="SSN",
        mask_type="ssn",
        mask_char="X",
        help_text=HOSTILE_HELP,
        acting_user=None,
    )
    args = [jane.uuid] if page == "contact-edit" else []

    response = alice_client.get(_url(page, acme, *args))

    assert any(text.startswith(HOSTILE_HELP) for text in _help_texts(response))


def test_masked_current_value_on_the_edit_form_is_text_and_only_the_mask(
    client: Client, acme: Organization, bob: User
) -> None:
    """Bob (no View Encrypted Data) sees the mask as text: its clear tail is not markup, and
    nothing of the value beyond the mask reaches the page."""
    field = create_contact_field(
        org=acme,
        label="Secret",
        api_name="Secret",
        mask_type="last_four",
        mask_char="*",
        help_text=HOSTILE_HELP,
        acting_user=None,
    )
    (contact,) = add_contacts(acme, field, ["hunter2<!--"])
    client.force_login(bob)

    response = client.get(_url("contact-edit", acme, contact.uuid))

    assert _help_texts(response)[-1] == (
        f"{HOSTILE_HELP} Current value: *******<!--. "
        "Leave blank to keep it; type a new value to replace it."
    )
    assert b"hunter" not in response.content


def test_contact_list_query_count_does_not_grow_with_rows(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    url = _url("contact-list", acme)
    add_contacts(acme, ssn_field, ["111-11-1111"])
    alice_client.get(url)  # warm per-process caches (ContentType, session, key material)
    with CaptureQueriesContext(connection) as one_row:
        alice_client.get(url)

    add_contacts(acme, ssn_field, [f"222-22-{i:04d}" for i in range(9)])
    with CaptureQueriesContext(connection) as ten_rows:
        alice_client.get(url)

    assert len(ten_rows) == len(one_row)


def test_other_orgs_cannot_open_a_contact(client: Client, carol: User, jane: Contact) -> None:
    client.force_login(carol)

    response = client.get(jane.get_absolute_url())

    assert response.status_code == 404


# --- The admin (superusers) ----------------------------------------------------------------


def test_admin_shows_values_as_the_permission_decides_and_never_tokens(
    client: Client, acme: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    """Superusers hold every permission, View Encrypted Data included (orgs.access)."""
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    row = value_row(jane, ssn_field)

    changelist = client.get(reverse("admin:keys_contactfieldvalue_changelist"))
    detail = client.get(reverse("admin:keys_contact_change", args=[jane.pk]))

    for page in (changelist, detail):
        assertContains(page, SSN)
        assertNotContains(page, row.value.token)


def test_admin_masks_for_a_viewer_without_the_permission(
    acme: Organization, bob: User, jane: Contact, ssn_field: ContactField, rf: object
) -> None:
    """The admin's value column applies the same rule to whoever looks."""
    from keys.admin import _viewer, shown_value

    request = rf.get("/")  # type: ignore[attr-defined]
    request.user = bob
    reset = _viewer.set(request)
    try:
        shown = shown_value(value_row(jane, ssn_field))
    finally:
        _viewer.reset(reset)

    assert shown == "XXX-XX-6789"


def test_admin_shows_unavailable_for_a_destroyed_key(
    client: Client, acme: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    rotate_master_key(org=acme, acting_user=None)
    destroy_master_key(org=acme, version=1, confirmation="DESTROY KEY 1", acting_user=None)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    response = client.get(reverse("admin:keys_contactfieldvalue_changelist"))

    assertContains(response, "unavailable")


def test_admin_never_shows_key_material(
    client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    key = acme.master_keys.get()

    response = client.get(reverse("admin:keys_masterkey_change", args=[key.pk]))

    assertContains(response, key.kcv)
    assertNotContains(response, "material")


# --- Encrypted field definitions ------------------------------------------------------------


def test_customizer_defines_a_field_and_the_first_key_appears(
    alice_client: Client, acme: Organization, alice: User
) -> None:
    grant(acme, alice, "customize_application")

    response = alice_client.post(
        _url("field-create", acme),
        {
            "label": "Tax Number",
            "api_name": "Tax_Number",
            "length": "20",
            "mask_type": "last_four",
            "mask_char": "X",
        },
        follow=True,
    )

    assertContains(response, "Created the encrypted field Tax Number.")
    assertContains(response, "XXXXXX6789")  # the mask example
    assert acme.master_keys.get().version == 1


def test_a_duplicate_api_name_is_refused(
    alice_client: Client, acme: Organization, alice: User, ssn_field: ContactField
) -> None:
    grant(acme, alice, "customize_application")

    response = alice_client.post(
        _url("field-create", acme),
        {"label": "ssn", "api_name": "ssn", "length": "9", "mask_type": "ssn", "mask_char": "X"},
    )

    assertContains(response, "already exists", status_code=400)


@pytest.mark.parametrize("api_name", ["1abc", "a__b", "abc_", "a b"])
def test_bad_api_names_are_refused(
    alice_client: Client, acme: Organization, alice: User, api_name: str
) -> None:
    grant(acme, alice, "customize_application")

    response = alice_client.post(
        _url("field-create", acme),
        {"label": "X", "api_name": api_name, "length": "9", "mask_type": "all", "mask_char": "*"},
    )

    assertContains(response, "The API Name must begin with a letter", status_code=400)


def test_a_length_over_175_is_refused(
    alice_client: Client, acme: Organization, alice: User
) -> None:
    grant(acme, alice, "customize_application")

    response = alice_client.post(
        _url("field-create", acme),
        {"label": "X", "api_name": "X", "length": "176", "mask_type": "all", "mask_char": "*"},
    )

    assertContains(response, "less than or equal to 175", status_code=400)


def test_changing_the_mask_changes_what_members_see(
    client: Client,
    acme: Organization,
    alice: User,
    bob: User,
    jane: Contact,
    ssn_field: ContactField,
) -> None:
    grant(acme, alice, "customize_application")
    client.force_login(alice)
    client.post(
        _url("field-edit", acme, ssn_field.uuid),
        {"label": "SSN", "mask_type": "all", "mask_char": "*"},
    )
    client.force_login(bob)

    response = client.get(jane.get_absolute_url())

    assertContains(response, "*" * len(SSN))
    assertNotContains(response, "XXX-XX-6789")


def test_defining_fields_needs_customize_application(
    alice_client: Client, acme: Organization
) -> None:
    """The System Administrator profile does not grant it (SPEC 1)."""
    response = alice_client.get(_url("field-list", acme))

    assertContains(response, "Customize Application", status_code=403)


def test_contacts_are_open_to_every_member(
    client: Client, acme: Organization, bob: User, jane: Contact
) -> None:
    client.force_login(bob)

    responses = [
        client.get(_url(name, acme, *args))
        for name, args in [
            ("contact-list", ()),
            ("contact-create", ()),
            ("contact-detail", (jane.uuid,)),
            ("contact-edit", (jane.uuid,)),
            ("contact-delete", (jane.uuid,)),
            ("contact-csv", ()),
        ]
    ]

    assert [r.status_code for r in responses] == [200] * 6
