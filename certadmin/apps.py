from django.apps import AppConfig


class CertadminConfig(AppConfig):
    name = "certadmin"
    verbose_name = "Certificates"
    default_auto_field = "django.db.models.BigAutoField"
