"""ACME (issue 18): accounts, orders, "Get from ACME", renewal settings and revocation. The
http-01 answer the CA fetches is mounted at the root (certadmin/urls/__init__.py)."""

from django.urls import path

from certadmin.views import acme

urlpatterns = [
    path("acme/", acme.acme_overview, name="acme-overview"),
    path("acme/accounts/new/", acme.acme_account_create, name="acme-account-create"),
    path("acme/accounts/<uuid:acme_account>/", acme.acme_account, name="acme-account"),
    path(
        "acme/accounts/<uuid:acme_account>/register/",
        acme.acme_account_action,
        {"action": "register"},
        name="acme-account-register",
    ),
    path(
        "acme/accounts/<uuid:acme_account>/rollover/",
        acme.acme_account_action,
        {"action": "rollover"},
        name="acme-account-rollover",
    ),
    path(
        "acme/accounts/<uuid:acme_account>/deactivate/",
        acme.acme_account_action,
        {"action": "deactivate"},
        name="acme-account-deactivate",
    ),
    path("acme/new/", acme.acme_order_create, name="acme-order-create"),
    path("acme/orders/<uuid:acme_order>/", acme.acme_order, name="acme-order"),
    path("acme/orders/<uuid:acme_order>/status/", acme.acme_order_status, name="acme-order-status"),
    path(
        "acme/orders/<uuid:acme_order>/continue/",
        acme.acme_order_continue,
        name="acme-order-continue",
    ),
    path("acme/orders/<uuid:acme_order>/retry/", acme.acme_order_retry, name="acme-order-retry"),
    path(
        "certificates/<uuid:certificate>/acme/",
        acme.acme_order_for_csr,
        name="acme-order-csr",
    ),
    path(
        "certificates/<uuid:certificate>/acme/renewal/",
        acme.acme_renewal,
        name="acme-renewal",
    ),
    path(
        "certificates/<uuid:certificate>/acme/revoke/",
        acme.acme_revoke,
        name="acme-revoke",
    ),
]
