"""Single Sign-On Settings, the retired proxy certificate's replacement and the Identity
Provider (SPEC 7). Every page needs Customize Application."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models.functions import Lower
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from certadmin.forms.sso import IdentityProviderForm, ProxyReplaceForm, SsoConfigForm
from certadmin.models import Certificate, SamlSsoConfig
from certadmin.querysets import SamlSsoConfigQuerySet
from certadmin.services import replace, sso_login
from certadmin.services import sso as services
from certadmin.views import idp as idp_views
from orgs.access import get_for_member, org_member_required, require_org_perm, visible_to_member
from orgs.http import OrgRequest
from orgs.permissions import CUSTOMIZE_APPLICATION
from orgs.wording import count

PERM = CUSTOMIZE_APPLICATION.full
PAGE_SIZE = 50
XML = "application/samlmetadata+xml"


def _configs(request: OrgRequest) -> SamlSsoConfigQuerySet:
    return visible_to_member(
        request,
        SamlSsoConfig.objects.select_related(
            "organization",
            "request_signing_certificate",
            "assertion_decryption_certificate",
            "proxy_certificate",
        ),
        PERM,
    )


def _get_config(request: OrgRequest, sso: str) -> SamlSsoConfig:
    return get_for_member(
        request,
        SamlSsoConfig.objects.select_related(
            "request_signing_certificate", "assertion_decryption_certificate", "proxy_certificate"
        ),
        PERM,
        uuid=sso,
    )


@require_GET
@org_member_required
def sso_list(request: OrgRequest) -> HttpResponse:
    configs = _configs(request)
    page = Paginator(configs.order_by(Lower("name")), PAGE_SIZE).get_page(request.GET.get("page"))
    ctx = {
        "page": page,
        "configs": list(page.object_list),
        "proxy_count": configs.using_retired_proxy().count(),
        "proxy_deadline": sso_login.proxy_deadline(),
        "proxy_days_left": sso_login.proxy_days_left(request.org),
    }
    return render(request, "certadmin/sso_list.html", ctx)


def _form_page(
    request: OrgRequest, form: SsoConfigForm, config: SamlSsoConfig | None
) -> HttpResponse:
    status = 400 if form.is_bound else 200
    ctx = {"form": form, "config": config, "no_signers": not form.signers.exists()}
    return render(request, "certadmin/sso_form.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@org_member_required
def sso_create(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    form = SsoConfigForm(request.POST or None, request.FILES or None, org=request.org)
    if form.is_valid():
        try:
            config = services.create_sso_config(
                org=request.org, data=form.settings(), acting_user=request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Created SAML SSO configuration {config.name}.")
            return redirect(config)
    return _form_page(request, form, None)


@require_http_methods(["GET", "POST"])
@org_member_required
def sso_edit(request: OrgRequest, sso: str) -> HttpResponse:
    config = _get_config(request, sso)
    initial = {
        "name": config.name,
        "issuer": config.issuer,
        "idp_entity_id": config.idp_entity_id,
        "idp_login_url": config.idp_login_url,
        "signature_method": config.signature_method,
        "request_signing_certificate": config.request_signing_certificate,
        "assertion_decryption_certificate": config.assertion_decryption_certificate,
        "show_on_login_page": config.show_on_login_page,
        "allow_idp_initiated": config.allow_idp_initiated,
        "jit_provisioning": config.jit_provisioning,
    }
    form = SsoConfigForm(
        request.POST or None, request.FILES or None, org=request.org, config=config, initial=initial
    )
    if form.is_valid():
        try:
            services.update_sso_config(
                config=config, data=form.settings(), acting_user=request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved SAML SSO configuration {config.name}.")
            return redirect(config)
        config.refresh_from_db()  # a refused save leaves the page showing what is stored
    return _form_page(request, form, config)


@require_GET
@org_member_required
def sso_detail(request: OrgRequest, sso: str) -> HttpResponse:
    config = _get_config(request, sso)
    ctx = {
        "config": config,
        "signer_pem": services.signer_pem(config),
        "login_url": sso_login.login_url(config),
        "acs_url": services.acs_url(config),
        "expired": sso_login.expired_certificates(config),
        "proxy_deadline": sso_login.proxy_deadline(),
        "proxy_days_left": sso_login.proxy_days_left(request.org),
    }
    return render(request, "certadmin/sso_detail.html", ctx)


@require_http_methods(["GET", "POST"])
@org_member_required
def sso_delete(request: OrgRequest, sso: str) -> HttpResponse:
    config = _get_config(request, sso)
    if request.method == "POST":
        services.delete_sso_config(config=config, acting_user=request.user)
        messages.success(request, f"Deleted SAML SSO configuration {config.name}.")
        return redirect("certadmin:sso-list", request.org.public_id)
    return render(request, "certadmin/sso_delete.html", {"config": config})


def _xml(body: bytes, filename: str, content_type: str = XML) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@org_member_required
def sso_metadata(request: OrgRequest, sso: str) -> HttpResponse:
    config = _get_config(request, sso)
    return _xml(services.sp_metadata(config), f"{config.file_stem}_SP_Metadata.xml")


@require_GET
@org_member_required
def sso_authn_request(request: OrgRequest, sso: str) -> HttpResponse:
    config = _get_config(request, sso)
    body = services.signed_authn_request(config)
    return _xml(body, f"{config.file_stem}_AuthnRequest.xml", "application/xml")


@require_http_methods(["GET", "POST"])
@org_member_required
def sso_proxy_replace(request: OrgRequest) -> HttpResponse:
    configs = _configs(request).using_retired_proxy().order_by(Lower("name"))
    proxy = services.retired_proxy()
    choices = (
        replace.replacement_choices(
            org=request.org, old=proxy, uses=services.proxy_uses(request.org)
        )
        if proxy is not None
        else Certificate.objects.none()
    )
    chosen = request.GET.getlist("config") or [str(c.uuid) for c in configs]
    form = ProxyReplaceForm(
        request.POST or None, configs=configs, choices=choices, initial={"configurations": chosen}
    )
    if form.is_valid():
        try:
            result = replace.replace_proxy_certificate(
                org=request.org,
                new=form.cleaned_data["certificate"],
                configs=[c.uuid for c in form.cleaned_data["configurations"]],
                acting_user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"{count(len(result.moved), 'configuration', 'configurations')} now sign"
                f" with "
                f"{result.certificate.unique_name}"
                f"{' (new self-signed certificate)' if result.created else ''}.",
            )
            return redirect("certadmin:sso-list", request.org.public_id)
    status = 400 if form.is_bound else 200
    ctx = {"form": form, "configs": list(configs), "proxy": proxy}
    return render(request, "certadmin/sso_proxy_replace.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@org_member_required
def idp_settings(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    form = IdentityProviderForm(
        request.POST if request.POST.get("action") == "enable" else None, org=request.org
    )
    if request.POST.get("action") == "disable":
        if services.disable_identity_provider(org=request.org, acting_user=request.user):
            messages.success(request, "Disabled the Identity Provider.")
        return redirect("certadmin:idp-settings", request.org.public_id)
    if form.is_valid():
        try:
            idp = services.enable_identity_provider(
                org=request.org,
                certificate=form.cleaned_data["certificate"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"The Identity Provider uses {idp.certificate}.")
            return redirect("certadmin:idp-settings", request.org.public_id)
    idp = services.identity_provider_of(request.org)
    ctx = {
        "idp": idp,
        "form": form,
        "entity_id": services.idp_entity_id(request.org),
        "certificate_pem": services.certificate_pem(idp.certificate) if idp.certificate else "",
        "service_providers": idp_views.service_providers(request),
    }
    return render(request, "certadmin/idp_settings.html", ctx, status=400 if form.is_bound else 200)


@require_GET
@org_member_required
def idp_metadata(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    idp = services.identity_provider_of(request.org)
    if not idp.enabled:
        messages.error(request, "Enable the Identity Provider first: it has no metadata yet.")
        return redirect("certadmin:idp-settings", request.org.public_id)
    return _xml(services.idp_metadata(idp), f"{request.org.public_id}_IdP_Metadata.xml")
