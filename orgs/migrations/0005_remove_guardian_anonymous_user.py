"""Remove the "AnonymousUser" row django-guardian made on migrate before settings set
ANONYMOUS_USER_NAME = None (it showed in the admin's user lists and filters). Only that row:
the name, no usable password, no membership, no staff or superuser flag."""

from django.db import migrations


def remove_anonymous_user(apps, schema_editor):
    User = apps.get_model("auth", "User")
    Membership = apps.get_model("orgs", "Membership")
    for user in User.objects.filter(username="AnonymousUser", is_staff=False, is_superuser=False):
        if user.password.startswith("!") and not Membership.objects.filter(user=user).exists():
            user.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        # Its permission rows are deleted with the user.
        ("guardian", "0003_remove_groupobjectpermission_guardian_gr_content_ae6aec_idx_and_more"),
        ("orgs", "0004_member_active_profile_uuid"),
    ]

    operations = [migrations.RunPython(remove_anonymous_user, migrations.RunPython.noop)]
