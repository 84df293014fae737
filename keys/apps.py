from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "keys"
    verbose_name = "Encryption keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from keys import checks  # noqa: F401 (registers the KEK check)
