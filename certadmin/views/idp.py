"""The org's Identity Provider for other applications (issue 16): the registered service
providers (Setup, Customize Application) and the endpoints members log in through: the
SingleSignOnService (HTTP-Redirect and HTTP-POST) and IdP-initiated login."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from certadmin import saml
from certadmin.forms.sso import ServiceProviderForm
from certadmin.models import ServiceProvider
from certadmin.services import idp as services
from certadmin.services import sso as sso_services
from orgs.access import get_for_member, org_member_required, require_org_perm, visible_to_member
from orgs.http import OrgRequest
from orgs.permissions import CUSTOMIZE_APPLICATION

PERM = CUSTOMIZE_APPLICATION.full
# An HTTP-POST AuthnRequest that arrived before its user logged in waits here.
PENDING_KEY = "certadmin_idp_pending"


def _get_sp(request: OrgRequest, sp: str) -> ServiceProvider:
    return get_for_member(request, ServiceProvider.objects.all(), PERM, uuid=sp)


def _form_page(
    request: OrgRequest, form: ServiceProviderForm, sp: ServiceProvider | None
) -> HttpResponse:
    ctx = {"form": form, "sp": sp}
    status = 400 if form.is_bound else 200
    return render(request, "certadmin/idp_sp_form.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@org_member_required
def sp_create(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    form = ServiceProviderForm(request.POST or None, request.FILES or None)
    if form.is_valid():
        try:
            sp = services.save_service_provider(
                org=request.org, sp=None, data=form.settings(), acting_user=request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Registered service provider {sp.name}.")
            return redirect(sp)
    return _form_page(request, form, None)


@require_http_methods(["GET", "POST"])
@org_member_required
def sp_edit(request: OrgRequest, sp: str) -> HttpResponse:
    provider = _get_sp(request, sp)
    initial = {
        "name": provider.name,
        "entity_id": provider.entity_id,
        "acs_url": provider.acs_url,
        "name_id_format": provider.name_id_format,
        "subject": provider.subject,
        **{f"attribute_{field}": name for name, field in provider.attribute_mapping.items()},
        "encrypt_assertions": provider.encrypt_assertions,
    }
    form = ServiceProviderForm(
        request.POST or None, request.FILES or None, sp=provider, initial=initial
    )
    if form.is_valid():
        try:
            services.save_service_provider(
                org=request.org, sp=provider, data=form.settings(), acting_user=request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved service provider {provider.name}.")
            return redirect(provider)
        provider.refresh_from_db()
    return _form_page(request, form, provider)


@require_GET
@org_member_required
def sp_detail(request: OrgRequest, sp: str) -> HttpResponse:
    provider = _get_sp(request, sp)
    ctx = {
        "sp": provider,
        "entity_id": sso_services.idp_entity_id(request.org),
        "sso_url": sso_services.idp_sso_url(request.org),
        "idp": sso_services.identity_provider_of(request.org),
    }
    return render(request, "certadmin/idp_sp_detail.html", ctx)


@require_http_methods(["GET", "POST"])
@org_member_required
def sp_delete(request: OrgRequest, sp: str) -> HttpResponse:
    provider = _get_sp(request, sp)
    if request.method == "POST":
        services.delete_service_provider(sp=provider, acting_user=request.user)
        messages.success(request, f"Deleted service provider {provider.name}.")
        return redirect("certadmin:idp-settings", request.org.public_id)
    return render(request, "certadmin/idp_sp_delete.html", {"sp": provider})


def service_providers(request: OrgRequest) -> list[ServiceProvider]:
    return list(visible_to_member(request, ServiceProvider.objects.all(), PERM).order_by("name"))


# --- the endpoints members log in through -------------------------------------------------------


def _post_page(request: OrgRequest, answer: services.Answer) -> HttpResponse:
    return render(request, "registration/saml_post.html", {"answer": answer})


def _refused_page(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "registration/idp_refused.html", {"reason": reason}, status=400)


@org_member_required
def _sso_for_member(request: OrgRequest) -> HttpResponse:
    pending = request.session.pop(PENDING_KEY, None)
    if request.method == "POST" or pending:
        data = request.POST if request.method == "POST" else pending
        binding, query = saml.HTTP_POST, ""
    else:
        binding, query = saml.HTTP_REDIRECT, request.META.get("QUERY_STRING", "")
        try:  # the values the signature covers, never request.GET's
            data = saml.redirect_values(query)
        except ValueError as exc:
            return _refused_page(request, str(exc))
    saml_request = data.get("SAMLRequest", "")
    if not saml_request:
        # Nothing to answer: the applications the member can open from here.
        providers = visible_to_member(request, ServiceProvider.objects.all(), None)
        ctx = {"service_providers": providers.order_by("name")}
        return render(request, "registration/idp_launcher.html", ctx)
    try:
        answer = services.answer_request(
            membership=request.membership,
            saml_request=saml_request,
            relay_state=data.get("RelayState", ""),
            binding=binding,
            query_string=query,
        )
    except services.IdpRefused as exc:
        return _refused_page(request, exc.reason)
    return _post_page(request, answer)


@csrf_exempt  # service providers post cross-site; their signature is the proof
@require_http_methods(["GET", "POST"])
@login_not_required
@never_cache
def idp_sso(request: HttpRequest, org: str) -> HttpResponse:
    """The SingleSignOnService: answers as the logged-in member; anyone else logs in first
    (a posted request waits in the session)."""
    if not request.user.is_authenticated:
        if request.method == "POST":
            request.session[PENDING_KEY] = {
                "SAMLRequest": request.POST.get("SAMLRequest", "")[:300_000],
                "RelayState": request.POST.get("RelayState", "")[:500],
            }
        return redirect_to_login(request.get_full_path())
    return _sso_for_member(request, org)


@require_GET
@org_member_required
@never_cache
def idp_initiated(request: OrgRequest, sp: str) -> HttpResponse:
    provider = get_for_member(request, ServiceProvider.objects.all(), None, uuid=sp)
    try:
        answer = services.idp_initiated(membership=request.membership, sp=provider)
    except services.IdpRefused as exc:
        return _refused_page(request, exc.reason)
    return _post_page(request, answer)
