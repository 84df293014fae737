"""Export to Keystore and Import from Keystore."""

from django.urls import path

from certadmin.views import keystores

urlpatterns = [
    path("certificates/export/", keystores.keystore_export, name="keystore-export"),
    path("certificates/import/", keystores.keystore_import, name="keystore-import"),
]
