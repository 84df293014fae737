"""Logging in with an org's SAML identity provider: the login page's "Log in with …" buttons,
the SP-initiated start and the Assertion Consumer Service (issue 16). Anonymous by nature:
the configuration is found by the org and uuid in its URL (another org's uuid is a 404)."""

from typing import Any

from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from certadmin.models import SamlSsoConfig
from certadmin.services import sso_login
from orgs.access import SSO_ORG_SESSION_KEY
from orgs.auth import SetupAuthenticationForm
from orgs.proxies import client_address

# Refusals that mean "this is not a SAML response we can read" (400); the others are 403.
_BAD_INPUT = {"malformed", "too_large", "doctype"}


def _config(org: str, sso: str) -> SamlSsoConfig:
    return get_object_or_404(
        SamlSsoConfig.objects.select_related(
            "organization",
            "request_signing_certificate",
            "assertion_decryption_certificate",
        ),
        organization__public_id=org,
        uuid=sso,
    )


def _failed(
    request: HttpRequest, config: SamlSsoConfig, refused: sso_login.Refused
) -> HttpResponse:
    ctx = {
        "config": config,
        "refused": refused,
        "when": timezone.now(),
        "org_name": config.organization.name,
    }
    status = 400 if refused.code in _BAD_INPUT else 403
    return render(request, "registration/sso_failed.html", ctx, status=status)


@require_GET
@login_not_required
@never_cache
def sso_login_start(request: HttpRequest, org: str, sso: str) -> HttpResponse:
    config = _config(org, sso)
    try:
        started = sso_login.begin_login(
            config, relay_state=request.GET.get("next", ""), client=client_address(request)
        )
    except sso_login.Refused as refused:
        return _failed(request, config, refused)
    response = HttpResponseRedirect(started.url)
    if request.is_secure():
        # The browser's own logins (the last few), sent back with the identity provider's
        # cross-site POST to the ACS only: SameSite=None, which browsers allow over HTTPS.
        ids = [*_started_here(request, config), started.request_id][-_STARTED_KEPT:]
        response.set_cookie(
            _cookie(config),
            ".".join(ids),
            max_age=int(sso_login.REQUEST_LIFETIME.total_seconds()),
            path=reverse("sso-acs", args=[config.organization.public_id, config.uuid]),
            secure=True,
            httponly=True,
            samesite="None",
        )
    return response


# How many logins started in one browser with one configuration may be under way at once.
_STARTED_KEPT = 3


def _cookie(config: SamlSsoConfig) -> str:
    return f"certadmin_saml_{config.uuid.hex}"


def _started_here(request: HttpRequest, config: SamlSsoConfig) -> list[str]:
    return [value for value in request.COOKIES.get(_cookie(config), "").split(".") if value]


@csrf_exempt  # the identity provider posts cross-site; the signed response is the proof
@require_POST
@login_not_required
@never_cache
def sso_acs(request: HttpRequest, org: str, sso: str) -> HttpResponse:
    config = _config(org, sso)

    def log_in(user: User) -> None:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        # Logged in to this org only (orgs.access.org_member_required reads it).
        request.session[SSO_ORG_SESSION_KEY] = config.organization.public_id

    try:
        result = sso_login.consume_response(
            config,
            saml_response=request.POST.get("SAMLResponse", ""),
            relay_state=request.POST.get("RelayState", ""),
            log_in=log_in,
            client=client_address(request),
            # Over plain HTTP the browser keeps no SameSite=None cookie: it cannot be told.
            started_here=frozenset(_started_here(request, config)) if request.is_secure() else None,
        )
    except sso_login.Refused as refused:
        return _failed(request, config, refused)
    return HttpResponseRedirect(result.redirect_to)


class SetupLoginView(LoginView):
    """The login page, with a "Log in with <name>" button per configuration shown on it."""

    authentication_form = SetupAuthenticationForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        configs = list(
            SamlSsoConfig.objects.filter(show_on_login_page=True)
            .select_related(
                "organization", "request_signing_certificate", "assertion_decryption_certificate"
            )
            .order_by("organization__name", "name")
        )
        now = timezone.now()
        ctx["sso_buttons"] = [
            {
                "config": config,
                "url": sso_login.login_path(config),
                "expired": sso_login.expired_certificates(config, now=now),
            }
            for config in configs
        ]
        return ctx
