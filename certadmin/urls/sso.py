"""Single Sign-On Settings, the retired proxy certificate's replacement, the Identity Provider."""

from django.urls import path

from certadmin.views import idp, sso

urlpatterns = [
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
    path("identity-provider/service-providers/new/", idp.sp_create, name="idp-sp-create"),
    path("identity-provider/service-providers/<uuid:sp>/", idp.sp_detail, name="idp-sp-detail"),
    path("identity-provider/service-providers/<uuid:sp>/edit/", idp.sp_edit, name="idp-sp-edit"),
    path(
        "identity-provider/service-providers/<uuid:sp>/delete/",
        idp.sp_delete,
        name="idp-sp-delete",
    ),
]
