"""Expired Certificates, the guided replacement of a used certificate, and Renew."""

from django.urls import path

from certadmin.views import expired

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
]
