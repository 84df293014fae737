"""The root URLconf (settings.ROOT_URLCONF): every app's pages, the admin, the JSON API."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from certadmin import errors
from certadmin.views import acme, idp, sso_login
from orgs.views import home as org_home

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error

urlpatterns = [
    path("", org_home.home, name="home"),
    path("healthz", org_home.healthz, name="healthz"),
    path("help/<slug:page>/", org_home.help_page, name="help"),
    # ACME http-01 (RFC 8555 8.3): the CA fetches the answer here, without a login.
    path(
        ".well-known/acme-challenge/<str:challenge_token>",
        acme.acme_challenge,
        name="acme-challenge",
    ),
    path("accounts/login/", sso_login.SetupLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Reached from the email a Reset Password on a user's Setup page sends (orgs.services.logins).
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("admin/", admin.site.urls),
    # Single sign-on with an org's identity provider: anonymous by nature (issue 16).
    path("o/<str:org>/sso/<uuid:sso>/login", sso_login.sso_login_start, name="sso-login"),
    path("o/<str:org>/sso/<uuid:sso>/acs", sso_login.sso_acs, name="sso-acs"),
    # The org's Identity Provider for other applications (members log in through it).
    path("o/<str:org>/idp/sso", idp.idp_sso, name="idp-sso"),
    path("o/<str:org>/idp/sp/<uuid:sp>/login", idp.idp_initiated, name="idp-initiated"),
    path("api/", include("certadmin.api.urls")),
    path("o/<str:org>/setup/", include("orgs.urls")),
    path("o/<str:org>/setup/", include("keys.urls")),
    path("o/<str:org>/setup/", include("certadmin.urls.setup")),
    path("o/<str:org>/setup/notifications/", include("notifications.urls")),
]
