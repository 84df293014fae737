"""The Setup page "Expiration Notifications", mounted under /o/<org>/setup/notifications/."""

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_settings, name="settings"),
    path("assign/", views.notification_assign, name="assign"),
    path("remove/", views.notification_remove, name="remove"),
]
