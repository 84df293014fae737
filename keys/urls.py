from django.urls import path

from keys import views

app_name = "keys"

urlpatterns = [
    path("master-keys/", views.key_list, name="key-list"),
    path("master-keys/rotate/", views.key_rotate, name="key-rotate"),
    path("master-keys/<int:key_version>/export/", views.key_export, name="key-export"),
    path("master-keys/<int:key_version>/destroy/", views.key_destroy, name="key-destroy"),
    path("master-keys/<int:key_version>/import/", views.key_import, name="key-import"),
    path("master-keys/reencrypt/", views.reencrypt_start, name="reencrypt-start"),
    path("master-keys/reencrypt/status/", views.reencrypt_status, name="reencrypt-status"),
    path("contact-fields/", views.field_list, name="field-list"),
    path("contact-fields/new/", views.field_create, name="field-create"),
    path("contact-fields/<uuid:encrypted_field>/", views.field_edit, name="field-edit"),
    path("contacts/", views.contact_list, name="contact-list"),
    path("contacts/new/", views.contact_create, name="contact-create"),
    path("contacts.csv", views.contact_csv, name="contact-csv"),
    path("contacts/<uuid:contact>/", views.contact_detail, name="contact-detail"),
    path("contacts/<uuid:contact>/edit/", views.contact_edit, name="contact-edit"),
    path("contacts/<uuid:contact>/delete/", views.contact_delete, name="contact-delete"),
]
