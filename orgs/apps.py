from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "orgs"
    verbose_name = "Organizations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orgs import help, setup_tree
        from orgs.permissions import MODIFY_ALL_DATA

        setup_tree.add(
            "Security", "Setup Audit Trail", "orgs:audit-trail", MODIFY_ALL_DATA.codename, order=90
        )
        setup_tree.add("Users", "Users", "orgs:user-list", MODIFY_ALL_DATA.codename, order=10)
        # Help for this page (orgs.help).
        help.add("orgs:setup-home", "setup", "setup-home")
        help.add("orgs:audit-trail", "setup", "setup-audit-trail")
        help.add("orgs:user-", "users", "users")
        help.add("orgs:profile-", "users", "profiles")
        help.add("orgs:permission-set-", "users", "permission-sets")
        setup_tree.add(
            "Users",
            "Profiles and Permission Sets",
            "orgs:profile-list",
            MODIFY_ALL_DATA.codename,
            order=20,
        )
