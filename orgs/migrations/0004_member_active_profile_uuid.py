"""Membership.is_active (deactivate/reactivate a user in one org) and Profile.uuid (profile
pages need a public id). Existing profiles get a uuid each before the column becomes unique."""

import uuid

from django.db import migrations, models


def fill_profile_uuids(apps, schema_editor):
    Profile = apps.get_model("orgs", "Profile")
    for profile in Profile.objects.filter(uuid__isnull=True).only("pk"):
        profile.uuid = uuid.uuid4()
        profile.save(update_fields=["uuid"])


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0003_organization_served_at_url"),
    ]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="is_active",
            field=models.BooleanField(default=True, verbose_name="Active"),
        ),
        migrations.AddField(
            model_name="profile",
            name="uuid",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(fill_profile_uuids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="profile",
            name="uuid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
