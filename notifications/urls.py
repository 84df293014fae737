"""The Setup page "Expiration Notifications", mounted under /o/<org>/setup/notifications/."""

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_settings, name="settings"),
    path("assign/", views.notification_assign, name="assign"),
    path("remove/", views.notification_remove, name="remove"),
    path("channels/new/", views.channel_create, name="channel-create"),
    path("channels/<uuid:channel>/edit/", views.channel_edit, name="channel-edit"),
    path("channels/<uuid:channel>/delete/", views.channel_delete, name="channel-delete"),
    path("channels/<uuid:channel>/test/", views.channel_test, name="channel-test"),
]
