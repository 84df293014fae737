import pytest
from django.contrib.auth.models import User
from django.test import Client

from orgs.models import Organization


@pytest.mark.parametrize("path", ["/admin/", "/admin/orgs/organization/", "/admin/auth/user/"])
def test_org_admins_cannot_open_the_django_admin(client: Client, alice: User, path: str) -> None:
    alice.is_staff = True  # even with the staff flag: the admin is for superusers only
    alice.save()
    client.force_login(alice)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_superuser_sees_every_org_in_the_admin(
    client: Client, acme: Organization, globex: Organization
) -> None:
    root = User.objects.create_superuser("root", "root@example.test", "pw-for-root-123")
    client.force_login(root)

    response = client.get("/admin/orgs/organization/")

    assert response.status_code == 200
    assert acme.public_id.encode() in response.content
    assert globex.public_id.encode() in response.content
