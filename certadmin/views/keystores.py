"""Export to Keystore and Import from Keystore (SPEC 3)."""

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from certadmin.forms.keystores import ExportForm, ImportForm
from certadmin.services import keystores as services
from orgs.access import org_member_required, require_org_perm
from orgs.http import OrgRequest
from orgs.permissions import MANAGE_CERTIFICATES

PERM = MANAGE_CERTIFICATES.full

IMPORT_NOTE = "No certificate was imported."


@require_http_methods(["GET", "POST"])
@org_member_required
def keystore_export(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    form = ExportForm(request.POST or None)
    if form.is_valid():
        try:
            export = services.export_keystore(
                org=request.org, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            response = HttpResponse(export.content, content_type=export.content_type)
            response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
            return response
    ctx = {"form": form, "plan": services.plan_export(request.org)}
    return render(
        request, "certadmin/keystore_export.html", ctx, status=400 if form.is_bound else 200
    )


@require_http_methods(["GET", "POST"])
@org_member_required
def keystore_import(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    form = ImportForm(request.POST or None, request.FILES or None)
    if form.is_valid():
        try:
            result = services.import_keystore(
                org=request.org,
                data=form.cleaned_data["keystore"],
                password=form.cleaned_data["password"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return render(request, "certadmin/keystore_import_result.html", {"result": result})
    status = 400 if form.is_bound else 200
    # The summary says nothing was imported, unless an error already says so (SPEC 3's
    # "No certificate was imported because ..."): never twice (issue 15).
    note = "" if IMPORT_NOTE.rstrip(".") in str(form.errors) else IMPORT_NOTE
    context = {"form": form, "note": note}
    return render(request, "certadmin/keystore_import.html", context, status=status)
