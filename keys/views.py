"""Setup pages of the keys app: Master Encryption Keys, encrypted Contact fields, Contacts."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from keys import keyring
from keys.columns import values_per_key
from keys.forms import (
    ContactFieldEditForm,
    ContactFieldForm,
    ContactForm,
    DestroyKeyForm,
    ExportKeyForm,
    ImportKeyForm,
)
from keys.models import Contact, ContactField, ContactFieldValue, MasterKey
from keys.services.contacts import (
    create_contact_field,
    delete_contact,
    present_contacts,
    save_contact,
    update_contact_field,
)
from keys.services.master_keys import (
    destroy_master_key,
    destroy_phrase,
    export_filename,
    export_master_key,
    import_master_key,
    rotate_master_key,
)
from keys.services.reencryption import reencryption_status, start_reencryption
from orgs import permissions
from orgs.access import get_for_member, org_member_required, require_org_perm, visible_to_member
from orgs.csv_export import csv_response
from orgs.http import OrgRequest, form_status
from orgs.wording import count

MANAGE_KEYS = permissions.MANAGE_ENCRYPTION_KEYS.full
CUSTOMIZE = permissions.CUSTOMIZE_APPLICATION.full


def _clear(request: OrgRequest) -> bool:
    """May this user see encrypted values unmasked?"""
    return permissions.VIEW_ENCRYPTED_DATA.codename in request.perms


def _keys_url(request: OrgRequest) -> str:
    return reverse("keys:key-list", args=[request.org.public_id])


# --- Master Encryption Keys --------------------------------------------------------------


@require_GET
@org_member_required
def key_list(request: OrgRequest) -> HttpResponse:
    keys = list(visible_to_member(request, MasterKey.objects.all(), MANAGE_KEYS))
    status = reencryption_status(request.org)
    largest = max(status.per_key.values(), default=0)
    destroyed = {key.version for key in keys if key.is_destroyed}
    ctx = {
        "keys": [(key, status.per_key.get(key.version, 0)) for key in keys],
        "status": status,
        # (version, values, bar width %, values are unavailable)
        "bars": [
            (version, n, int(100 * n / largest) if largest else 0, version in destroyed)
            for version, n in sorted(status.per_key.items())
        ],
    }
    return render(request, "keys/key_list.html", ctx)


@require_http_methods(["GET", "POST"])
@org_member_required
def key_rotate(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, MANAGE_KEYS)
    active = MasterKey.objects.for_org(request.org).active().first()
    if request.method == "POST":
        try:
            key = rotate_master_key(org=request.org, acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Key {key.version} is now the active key.")
        return redirect(_keys_url(request))
    return render(request, "keys/key_rotate.html", {"active": active})


@require_http_methods(["GET", "POST"])
@org_member_required
def key_export(request: OrgRequest, key_version: int) -> HttpResponse:
    key = get_for_member(request, MasterKey.objects.all(), MANAGE_KEYS, version=key_version)
    form = ExportKeyForm(request.POST or None)
    if form.is_valid():
        try:
            text = export_master_key(
                org=request.org,
                version=key.version,
                password=form.cleaned_data["password"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            response = HttpResponse(text, content_type="text/plain; charset=utf-8")
            filename = export_filename(request.org, key.version)
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
    ctx = {"key": key, "form": form}
    return render(request, "keys/key_export.html", ctx, status=form_status(form))


@require_http_methods(["GET", "POST"])
@org_member_required
def key_destroy(request: OrgRequest, key_version: int) -> HttpResponse:
    key = get_for_member(request, MasterKey.objects.all(), MANAGE_KEYS, version=key_version)
    if not key.is_archived:
        messages.error(request, f"Only archived keys can be destroyed; key {key.version} is not.")
        return redirect(_keys_url(request))
    form = DestroyKeyForm(request.POST or None)
    form.fields["confirmation"].label = f"Type {destroy_phrase(key.version)} to confirm"
    if form.is_valid():
        try:
            lost = destroy_master_key(
                org=request.org,
                version=key.version,
                confirmation=form.cleaned_data["confirmation"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"Destroyed key {key.version}; "
                f"{count(lost, 'value is', 'values are')} now unavailable.",
            )
            return redirect(_keys_url(request))
    ctx = {
        "key": key,
        "form": form,
        "values": values_per_key(request.org).get(key.version, 0),
        "phrase": destroy_phrase(key.version),
    }
    return render(request, "keys/key_destroy.html", ctx, status=form_status(form))


@require_http_methods(["GET", "POST"])
@org_member_required
def key_import(request: OrgRequest, key_version: int) -> HttpResponse:
    key = get_for_member(request, MasterKey.objects.all(), MANAGE_KEYS, version=key_version)
    if not key.is_destroyed:
        messages.error(request, f"Only destroyed keys can be imported; key {key.version} is not.")
        return redirect(_keys_url(request))
    form = ImportKeyForm(request.POST or None, request.FILES or None)
    if form.is_valid():
        try:
            import_master_key(
                org=request.org,
                version=key.version,
                text=form.cleaned_data["key_file"],
                password=form.cleaned_data["password"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Imported key {key.version}; its values are readable.")
            return redirect(_keys_url(request))
    ctx = {"key": key, "form": form}
    return render(request, "keys/key_import.html", ctx, status=form_status(form))


@require_POST
@org_member_required
def reencrypt_start(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, MANAGE_KEYS)
    try:
        start_reencryption(org=request.org, acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Re-encryption started. Progress is shown below.")
    return redirect(_keys_url(request) + "#reencrypt")


@require_GET
@org_member_required
def reencrypt_status(request: OrgRequest) -> JsonResponse:
    require_org_perm(request, MANAGE_KEYS)
    return JsonResponse(reencryption_status(request.org).as_json())


# --- Encrypted fields ----------------------------------------------------------------------


@require_GET
@org_member_required
def field_list(request: OrgRequest) -> HttpResponse:
    fields = list(visible_to_member(request, ContactField.objects.all(), CUSTOMIZE))
    return render(request, "keys/field_list.html", {"fields": fields})


@require_http_methods(["GET", "POST"])
@org_member_required
def field_create(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, CUSTOMIZE)
    form = ContactFieldForm(request.POST or None)
    if form.is_valid():
        try:
            field = create_contact_field(
                org=request.org, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Created the encrypted field {field.label}.")
            return redirect("keys:field-list", request.org.public_id)
    ctx = {"form": form, "creating": True}
    return render(request, "keys/field_form.html", ctx, status=form_status(form))


@require_http_methods(["GET", "POST"])
@org_member_required
def field_edit(request: OrgRequest, encrypted_field: str) -> HttpResponse:
    field = get_for_member(request, ContactField.objects.all(), CUSTOMIZE, uuid=encrypted_field)
    initial = {k: getattr(field, k) for k in ("label", "mask_type", "mask_char", "help_text")}
    form = ContactFieldEditForm(request.POST or None, initial=initial)
    if form.is_valid():
        try:
            update_contact_field(contact_field=field, acting_user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved the encrypted field {field.label}.")
            return redirect("keys:field-list", request.org.public_id)
    ctx = {"form": form, "field": field, "creating": False}
    return render(request, "keys/field_form.html", ctx, status=form_status(form))


# --- Contacts ------------------------------------------------------------------------------
# Contacts are the org's data, not its setup: every member may work with them. What View
# Encrypted Data decides is whether the encrypted values show clear or masked.


def _contacts(request: OrgRequest) -> tuple[list[ContactField], QuerySet[Contact]]:
    fields = list(ContactField.objects.filter(organization=request.org))
    contacts = visible_to_member(request, Contact.objects.all(), None).prefetch_related(
        Prefetch("values", queryset=ContactFieldValue.objects.order_by())
    )
    return fields, contacts


@require_GET
@org_member_required
def contact_list(request: OrgRequest) -> HttpResponse:
    fields, contacts = _contacts(request)
    page = Paginator(contacts, 50).get_page(request.GET.get("page"))
    ring = keyring.Keyring.load(request.org.pk)
    rows = list(present_contacts(page, fields, ring=ring, clear=_clear(request)))
    ctx = {"fields": fields, "rows": rows, "page": page, "clear": _clear(request)}
    return render(request, "keys/contact_list.html", ctx)


@require_GET
@org_member_required
def contact_detail(request: OrgRequest, contact: str) -> HttpResponse:
    fields, contacts = _contacts(request)
    found = get_for_member(request, contacts, None, uuid=contact)
    ring = keyring.Keyring.load(request.org.pk)
    (row,) = present_contacts([found], fields, ring=ring, clear=_clear(request))
    ctx = {"contact": found, "cells": list(zip(fields, row.cells, strict=True))}
    return render(request, "keys/contact_detail.html", ctx)


def _contact_form(request: OrgRequest, contact: Contact | None) -> ContactForm:
    fields = list(ContactField.objects.filter(organization=request.org))
    shown: dict[int, str] = {}
    readable: set[int] = set()
    if contact is not None:
        ring = keyring.Keyring.load(request.org.pk)
        by_id = {f.pk: f for f in fields}
        for value in contact.values.all():
            value.field = by_id[value.field_id]
            shown[value.field_id] = value.value.display(clear=_clear(request), ring=ring)
            if shown[value.field_id] != "unavailable":
                readable.add(value.field_id)
    initial = (
        {"first_name": contact.first_name, "last_name": contact.last_name, "email": contact.email}
        if contact
        else None
    )
    return ContactForm(
        request.POST or None,
        initial=initial,
        fields=fields,
        shown=shown,
        clear=_clear(request),
        readable=readable,
    )


def _save_contact(request: OrgRequest, contact: Contact | None) -> HttpResponse:
    form = _contact_form(request, contact)
    if form.is_valid():
        try:
            saved = save_contact(
                org=request.org,
                contact=contact,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                email=form.cleaned_data["email"],
                values=form.contact_values(),
                acting_user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved contact {saved.name}.")
            return redirect(saved)
    ctx = {"form": form, "contact": contact}
    return render(request, "keys/contact_form.html", ctx, status=form_status(form))


@require_http_methods(["GET", "POST"])
@org_member_required
def contact_create(request: OrgRequest) -> HttpResponse:
    return _save_contact(request, None)


@require_http_methods(["GET", "POST"])
@org_member_required
def contact_edit(request: OrgRequest, contact: str) -> HttpResponse:
    found = get_for_member(request, Contact.objects.all(), None, uuid=contact)
    return _save_contact(request, found)


@require_http_methods(["GET", "POST"])
@org_member_required
def contact_delete(request: OrgRequest, contact: str) -> HttpResponse:
    found = get_for_member(request, Contact.objects.all(), None, uuid=contact)
    if request.method == "POST":
        delete_contact(contact=found, acting_user=request.user)
        messages.success(request, f"Deleted contact {found.name}.")
        return redirect("keys:contact-list", request.org.public_id)
    return render(request, "keys/contact_delete.html", {"contact": found})


@require_GET
@org_member_required
def contact_csv(request: OrgRequest) -> StreamingHttpResponse:
    fields, contacts = _contacts(request)
    ring = keyring.Keyring.load(request.org.pk)
    batch = contacts.iterator(chunk_size=500)
    rows = (
        (row.contact.first_name, row.contact.last_name, row.contact.email, *row.cells)
        for row in present_contacts(batch, fields, ring=ring, clear=_clear(request))
    )
    header = ["First Name", "Last Name", "Email", *(f.label for f in fields)]
    return csv_response(f"Contacts_{request.org.public_id}.csv", header, rows)
