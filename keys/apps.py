from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "keys"
    verbose_name = "Encryption keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from keys import checks  # noqa: F401 (registers the KEK check)
        from orgs import help, setup_tree
        from orgs.permissions import CUSTOMIZE_APPLICATION, MANAGE_ENCRYPTION_KEYS

        setup_tree.add(
            "Security",
            "Master Encryption Keys",
            "keys:key-list",
            MANAGE_ENCRYPTION_KEYS.codename,
            order=40,
        )
        setup_tree.add("Contacts", "Contacts", "keys:contact-list", None, order=10)
        # Help for this page (orgs.help): the section of docs/keys.md each page is about.
        help.add("keys:key-", "keys", "master-keys")
        help.add("keys:reencrypt-", "keys", "re-encrypt-all-data-now")
        help.add("keys:field-", "keys", "encrypted-custom-fields-on-contacts")
        help.add("keys:contact-", "keys", "who-sees-what")
        setup_tree.add(
            "Contacts",
            "Encrypted Fields",
            "keys:field-list",
            CUSTOMIZE_APPLICATION.codename,
            order=20,
        )
