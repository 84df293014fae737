"""Get a Certificate from ACME in a browser, against pebble: the form leaves at once for the
order's page, which says "Queued"; when the background worker has run the order, the page
(which asks the order's status by itself) says "Issued" and links the certificate, without
a reload. The worker is django-q2's own worker code run from this test (`task_queue`): a
qcluster process cannot share the tests' in-memory database.

alice: System Administrator of Acme.
"""

import re
from collections.abc import Callable

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from certadmin.models import AcmeAccount, AcmeOrder
from orgs.models import Organization
from tests.acme.conftest import account, acme_settings, pebble, task_queue  # noqa: F401
from tests.browser.conftest import log_in


def test_the_order_page_follows_the_worker_to_issued(
    page: Page,
    alice: User,
    acme: Organization,
    account: AcmeAccount,  # noqa: F811
    task_queue: Callable[[], list[str]],  # noqa: F811
) -> None:
    log_in(page, alice)
    page.goto(f"/o/{acme.public_id}/setup/acme/new/")
    page.get_by_label("Label").fill("Portal")
    page.get_by_label("Unique Name").fill("Portal")
    page.get_by_label("Domain names").fill("portal.acme.test")
    page.get_by_role("button", name="Order").click()

    state = page.get_by_role("status").filter(has_text=re.compile("Queued|Issued"))
    expect(state).to_have_text("Queued: waiting for the background worker to start it.")
    order = AcmeOrder.objects.get()
    assert page.url.endswith(order.get_absolute_url())

    task_queue()  # the worker runs the order while the page watches

    expect(state).to_have_text("Issued: the CA issued Portal.", timeout=20_000)
    expect(page.get_by_role("link", name="Open Portal")).to_be_visible()
    page.get_by_role("link", name="Open Portal").click()
    expect(page.get_by_role("heading", name=re.compile("Portal"))).to_be_visible()
