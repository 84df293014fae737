from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_schedules(using: str, **kwargs: Any) -> None:
    from django.db import connections
    from django_q.models import Schedule

    from notifications.schedules import sync_schedules

    # Not after `migrate django_q zero`, say: the table must be there.
    if Schedule._meta.db_table in connections[using].introspection.table_names():
        sync_schedules(using=using)


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Expiration notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The schedule exists as soon as the database is migrated (SPEC 4: "created by a
        # migration or a manage.py command, never by hand"), and follows schedules.py after
        # every deploy's migrate.
        post_migrate.connect(_sync_schedules, sender=self, dispatch_uid="notifications.schedules")

        # An ACME renewal that failed is emailed to the same recipients as the notices.
        from certadmin.services.acme.renewal import renewal_failed
        from notifications.renewal_alerts import email_renewal_failure

        renewal_failed.connect(email_renewal_failure, dispatch_uid="notifications.renewal_alerts")

        from orgs import help, setup_tree
        from orgs.permissions import MANAGE_CERTIFICATES

        help.add("notifications:", "notifications", "setup-page-expiration-notifications")
        help.add("notifications:channel-", "named-credentials", "webhook-notification-channels")
        setup_tree.add(
            "Security",
            "Expiration Notifications",
            "notifications:settings",
            MANAGE_CERTIFICATES.codename,
            order=30,
        )
