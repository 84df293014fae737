"""Setup pages of issue 8 (where used, expired certificates, SAML SSO, the retired proxy
certificate, Identity Provider), included by urls_setup in the `certadmin` namespace."""

from django.urls import path

from certadmin.views import expired, sso

urlpatterns = [
    path("certificates/expired/", expired.expired_list, name="certificate-expired"),
    path("certificates/expired/delete/", expired.expired_delete, name="certificate-expired-delete"),
    path(
        "certificates/<uuid:certificate>/replace/",
        expired.certificate_replace,
        name="certificate-replace",
    ),
    path(
        "certificates/<uuid:certificate>/renew/",
        expired.certificate_renew,
        name="certificate-renew",
    ),
    path("sso/", sso.sso_list, name="sso-list"),
    path("sso/new/", sso.sso_create, name="sso-create"),
    path("sso/proxy-certificate/replace/", sso.sso_proxy_replace, name="sso-proxy-replace"),
    path("sso/<uuid:sso>/", sso.sso_detail, name="sso-detail"),
    path("sso/<uuid:sso>/edit/", sso.sso_edit, name="sso-edit"),
    path("sso/<uuid:sso>/delete/", sso.sso_delete, name="sso-delete"),
    path("sso/<uuid:sso>/metadata/", sso.sso_metadata, name="sso-metadata"),
    path("sso/<uuid:sso>/authn-request/", sso.sso_authn_request, name="sso-authn-request"),
    path("identity-provider/", sso.idp_settings, name="idp-settings"),
    path("identity-provider/metadata/", sso.idp_metadata, name="idp-metadata"),
]
