from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "orgs"
    verbose_name = "Organizations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orgs import setup_tree
        from orgs.permissions import MODIFY_ALL_DATA

        setup_tree.add(
            "Security", "Setup Audit Trail", "orgs:audit-trail", MODIFY_ALL_DATA.codename, order=90
        )
        setup_tree.add("Users", "Users", "orgs:user-list", MODIFY_ALL_DATA.codename, order=10)
        setup_tree.add(
            "Users",
            "Profiles and Permission Sets",
            "orgs:profile-list",
            MODIFY_ALL_DATA.codename,
            order=20,
        )
