"""The ACME pages (issue 18): accounts, "Get from ACME", orders, renewal, revocation, and the
http-01 challenge answer the CA fetches."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from certadmin.forms.acme import (
    AcmeAccountForm,
    AcmeCsrOrderForm,
    AcmeDnsForm,
    AcmeOrderForm,
    AcmeRenewalForm,
    RevokeForm,
)
from certadmin.models import AcmeAccount, AcmeCertificate, AcmeChallenge, AcmeOrder, Certificate
from certadmin.services.acme import accounts, orders, renewal, runs
from orgs.access import get_for_member, org_member_required, require_org_perm, visible_to_member
from orgs.http import OrgRequest
from orgs.permissions import MANAGE_CERTIFICATES

PERM = MANAGE_CERTIFICATES.full


@require_GET
@org_member_required
def acme_overview(request: OrgRequest) -> HttpResponse:
    ctx = {
        "accounts": list(visible_to_member(request, AcmeAccount.objects.all(), PERM)),
        "orders": list(
            AcmeOrder.objects.filter(organization=request.org)
            .select_related("account", "result")
            .order_by("-created_at")[:20]
        ),
        "failing": list(
            AcmeCertificate.objects.for_org(request.org)
            .filter(failing_since__isnull=False)
            .select_related("certificate")
        ),
    }
    return render(request, "certadmin/acme_overview.html", ctx)


@require_http_methods(["GET", "POST"])
@org_member_required
def acme_account_create(request: OrgRequest) -> HttpResponse:
    require_org_perm(request, PERM)
    form = AcmeAccountForm(request.POST or None)
    if form.is_valid():
        try:
            account = accounts.create_account(
                org=request.org, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            _register(request, account)
            return redirect(account)
    status = 400 if form.is_bound else 200
    return render(request, "certadmin/acme_account_form.html", {"form": form}, status=status)


def _register(request: OrgRequest, account: AcmeAccount) -> None:
    try:
        accounts.register_account(account=account, acting_user=request.user)
    except ValidationError as exc:
        messages.error(
            request,
            f"Saved {account.label}, but the CA refused to register it: " + " ".join(exc.messages),
        )
    else:
        messages.success(request, f"Registered the ACME account {account.label}.")


@require_http_methods(["GET", "POST"])
@org_member_required
def acme_account(request: OrgRequest, acme_account: str) -> HttpResponse:
    account = get_for_member(request, AcmeAccount.objects.all(), PERM, uuid=acme_account)
    initial = {
        f: getattr(account, f)
        for f in ("dns_server", "dns_port", "dns_zone", "tsig_key_name", "tsig_algorithm")
    }
    form = AcmeDnsForm(request.POST or None, initial=initial)
    if form.is_valid():
        try:
            accounts.update_dns_settings(
                account=account, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved the DNS update settings of {account.label}.")
            return redirect(account)
    status = 400 if form.is_bound else 200
    ctx = {"account": account, "form": form}
    return render(request, "certadmin/acme_account.html", ctx, status=status)


@require_POST
@org_member_required
def acme_account_action(request: OrgRequest, acme_account: str, action: str) -> HttpResponse:
    account = get_for_member(request, AcmeAccount.objects.all(), PERM, uuid=acme_account)
    if action == "register":
        _register(request, account)
        return redirect(account)
    steps = {
        "rollover": (accounts.rollover_account_key, "Rolled over the account key of"),
        "deactivate": (accounts.deactivate_account, "Deactivated"),
    }
    if action not in steps:
        raise Http404("No such action.")
    service, done = steps[action]
    try:
        service(account=account, acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{done} {account.label}.")
    return redirect(account)


def _usable_accounts(request: OrgRequest) -> QuerySet[AcmeAccount]:
    return visible_to_member(request, AcmeAccount.objects.all(), PERM).filter(
        status=AcmeAccount.Status.VALID
    )


@require_http_methods(["GET", "POST"])
@org_member_required
def acme_order_create(request: OrgRequest) -> HttpResponse:
    form = AcmeOrderForm(request.POST or None, accounts=_usable_accounts(request))
    if form.is_valid():
        try:
            order = orders.start_new_certificate(
                org=request.org, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect(order)
    status = 400 if form.is_bound else 200
    ctx = {"form": form, "title": "Get a Certificate from ACME"}
    return render(request, "certadmin/acme_order_form.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@org_member_required
def acme_order_for_csr(request: OrgRequest, certificate: str) -> HttpResponse:
    cert = get_for_member(request, Certificate.objects.all(), PERM, uuid=certificate)
    if cert.kind != Certificate.Kind.CA_SIGNED:
        messages.error(request, "Only a CA-signed certificate's request can go to an ACME CA.")
        return redirect(cert)
    form = AcmeCsrOrderForm(request.POST or None, accounts=_usable_accounts(request))
    if form.is_valid():
        try:
            order = orders.start_for_csr(
                certificate=cert, acting_user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect(order)
    status = 400 if form.is_bound else 200
    ctx = {"form": form, "certificate": cert, "title": f"Get {cert.unique_name} from ACME"}
    return render(request, "certadmin/acme_order_form.html", ctx, status=status)


def _order(request: OrgRequest, uuid: str) -> AcmeOrder:
    related = AcmeOrder.objects.select_related("account", "result")
    return get_for_member(request, related, PERM, uuid=uuid)


@require_GET
@org_member_required
def acme_order(request: OrgRequest, acme_order: str) -> HttpResponse:
    order = _order(request, acme_order)
    ctx = {
        "order": order,
        "progress": runs.progress(order),
        "challenges": list(order.challenges.all()),
    }
    return render(request, "certadmin/acme_order.html", ctx)


@never_cache
@require_GET
@org_member_required
def acme_order_status(request: OrgRequest, acme_order: str) -> HttpResponse:
    """The order's state as JSON, for its page's polling."""
    return JsonResponse(runs.progress(_order(request, acme_order)).as_json())


@require_POST
@org_member_required
def acme_order_continue(request: OrgRequest, acme_order: str) -> HttpResponse:
    order = _order(request, acme_order)
    try:
        orders.continue_order(order=order, acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(order)


@require_POST
@org_member_required
def acme_order_retry(request: OrgRequest, acme_order: str) -> HttpResponse:
    order = _order(request, acme_order)
    try:
        orders.retry_order(order=order, acting_user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(order)


def _tracked(request: OrgRequest, certificate: str) -> tuple[Certificate, AcmeCertificate | None]:
    cert = get_for_member(request, Certificate.objects.all(), PERM, uuid=certificate)
    return cert, AcmeCertificate.objects.filter(certificate=cert).select_related("account").first()


@require_http_methods(["GET", "POST"])
@org_member_required
def acme_renewal(request: OrgRequest, certificate: str) -> HttpResponse:
    cert, tracked = _tracked(request, certificate)
    if tracked is None:
        messages.error(request, f"{cert.unique_name} was not obtained from ACME.")
        return redirect(cert)
    if request.method == "POST" and "renew_now" in request.POST:
        try:
            order = renewal.queue_renewal(acme_cert=tracked, acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(cert)
        return redirect(order)
    initial = {
        "auto_renew": tracked.auto_renew,
        "renew_percent": round(tracked.renew_fraction * 100),
        "new_key": tracked.new_key,
    }
    form = AcmeRenewalForm(request.POST or None, initial=initial)
    if form.is_valid():
        data = form.cleaned_data
        try:
            renewal.update_renewal_settings(
                acme_cert=tracked,
                auto_renew=data["auto_renew"],
                renew_fraction=data["renew_percent"] / 100,
                new_key=data["new_key"],
                acting_user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved the renewal settings of {cert.unique_name}.")
            return redirect(cert)
    status = 400 if form.is_bound else 200
    ctx = {"certificate": cert, "tracked": tracked, "form": form}
    return render(request, "certadmin/acme_renewal.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@org_member_required
def acme_revoke(request: OrgRequest, certificate: str) -> HttpResponse:
    cert, tracked = _tracked(request, certificate)
    if tracked is None or tracked.revoked_at is not None:
        messages.error(
            request,
            f"{cert.unique_name} cannot be revoked here: it was not "
            "obtained from ACME, or is revoked already.",
        )
        return redirect(cert)
    form = RevokeForm(request.POST or None)
    if form.is_valid():
        try:
            orders.revoke_certificate(
                certificate=cert, reason=form.cleaned_data["reason"], acting_user=request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Revoked {cert.unique_name} at the CA.")
            return redirect(cert)
    status = 400 if form.is_bound else 200
    ctx = {"certificate": cert, "form": form}
    return render(request, "certadmin/acme_revoke.html", ctx, status=status)


@login_not_required
@never_cache
@require_GET
def acme_challenge(request: object, challenge_token: str) -> HttpResponse:
    """The http-01 answer (RFC 8555 8.3): the key authorization of a pending order's token,
    as text/plain. No login and no org in the URL: the CA knows only the token."""
    validation = (
        AcmeChallenge.objects.filter(token=challenge_token, order__status__in=AcmeOrder.OPEN)
        .exclude(token="")
        .values_list("validation", flat=True)
        .first()
    )
    if validation is None:
        raise Http404("No such challenge.")
    return HttpResponse(validation, content_type="text/plain")
