"""The seed's recipient rule in the four situations an org can be in (issue 17): nobody holds
Receive Certificate Expiration Notifications, an admin holds it, only a non-admin holds it, an
inactive admin holds it. Checked where a user sees it: the Expiration Notifications page and
the emails the job sends. alice is a System Administrator of Acme, bob a Standard User, erin
another System Administrator."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.test import Client
from django.urls import reverse

from notifications.services import send_expiry_notices
from orgs import permissions
from orgs.models import Organization
from tests.conftest import make_member
from tests.notifications.conftest import NOW, expiring, holder, in_days, warning_lines


def _nobody(acme: Organization, bob: User) -> None:
    pass


def _admin_holder(acme: Organization, bob: User) -> None:
    holder(acme, make_member(acme, "erin", permissions.SYSTEM_ADMINISTRATOR))


def _non_admin_holder(acme: Organization, bob: User) -> None:
    holder(acme, bob)


def _inactive_admin_holder(acme: Organization, bob: User) -> None:
    erin = holder(acme, make_member(acme, "erin", permissions.SYSTEM_ADMINISTRATOR))
    erin.is_active = False
    erin.save()


MONTH = "Month, Self-Signed"
TODAY = "Today, Self-Signed"

# situation, the page's sentence, who gets which lines
CASES = [
    (
        _nobody,
        "nobody",
        "no active user holds it, so every admin gets every notice.",
        {"alice": [TODAY, MONTH]},
    ),
    (
        _admin_holder,
        "admin-holds",
        "the admin erin holds it, so the other admins get only the 1-day and day-of notices.",
        {"alice": [TODAY], "erin": [TODAY, MONTH]},
    ),
    (
        _non_admin_holder,
        "only-non-admins",
        "only users who are not admins hold it (bob), so admins still get every notice",
        {"alice": [TODAY, MONTH], "bob": [TODAY, MONTH]},
    ),
    (
        _inactive_admin_holder,
        "nobody",
        "no active user holds it, so every admin gets every notice.",
        {"alice": [TODAY, MONTH]},
    ),
]
IDS = ["no holder", "admin holder", "non-admin holder only", "inactive admin holder"]


@pytest.mark.parametrize(("arrange", "case", "sentence", "lines"), CASES, ids=IDS)
def test_the_page_says_which_case_the_org_is_in(
    alice_client: Client,
    acme: Organization,
    alice: User,
    bob: User,
    arrange: Callable[[Organization, User], None],
    case: str,
    sentence: str,
    lines: dict[str, list[str]],
) -> None:
    arrange(acme, bob)

    response = alice_client.get(reverse("notifications:settings", args=[acme.public_id]))

    html = " ".join(response.content.decode().split())
    assert f'data-case="{case}"' in html
    assert sentence in html
    shown = {r.username: r.gets_all for r in response.context["recipients"]}
    assert shown == {name: MONTH in got for name, got in lines.items()}


@pytest.mark.parametrize(("arrange", "case", "sentence", "lines"), CASES, ids=IDS)
def test_the_job_emails_follow_the_case(
    mailoutbox: list[EmailMessage],
    acme: Organization,
    alice: User,
    bob: User,
    arrange: Callable[[Organization, User], None],
    case: str,
    sentence: str,
    lines: dict[str, list[str]],
) -> None:
    arrange(acme, bob)
    expiring(acme, "Month", in_days(30))
    expiring(acme, "Today", in_days(0))

    send_expiry_notices(now=NOW)

    by_user = {
        User.objects.get(email=m.to[0]).username: [
            ", ".join(line.split(", ")[:2]) for line in warning_lines(m)
        ]
        for m in mailoutbox
    }
    assert by_user == lines
