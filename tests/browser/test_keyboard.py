"""The main flows with the keyboard alone (issue 19): Tab to reach a control, type, Enter to
submit. After each error, focus is on the error summary (or the error message of an action
that redirects), and the summary's link takes focus to the field. File choosers are the
browser's own dialog: Playwright sets the file where a user would pick it."""

import re
from pathlib import Path

from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Locator, Page, expect

from certadmin.models import Certificate
from orgs.models import Organization
from tests.browser.conftest import log_in
from tests.certadmin.conftest import ca_signed
from tests.keytool import PASSWORD, genkey
from tests.pem import OpenSslCa, make_certificate


def tab_to(page: Page, target: Locator, limit: int = 60) -> None:
    """Press Tab until `target` has focus (it must be reachable in the tab order)."""
    for _ in range(limit):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{target} is not reachable with Tab")


def summary(page: Page) -> Locator:
    return page.locator("#error-summary")


def follow_summary_link(page: Page, name: str, field: Locator) -> None:
    """From the focused summary, Tab to its link and press Enter: focus lands on the field."""
    link = summary(page).get_by_role("link", name=name)
    tab_to(page, link, limit=5)
    page.keyboard.press("Enter")
    expect(field).to_be_focused()


def test_create_a_certificate_with_the_keyboard(
    page: Page, acme: Organization, alice: User
) -> None:
    log_in(page, alice)
    page.goto(reverse("certadmin:certificate-create-self-signed", args=[acme.public_id]))
    label = page.get_by_label("Label")

    tab_to(page, page.get_by_role("button", name="Save"))
    page.keyboard.press("Enter")

    expect(summary(page)).to_be_focused()
    expect(summary(page)).to_contain_text("Label: This field is required.")
    expect(label).to_have_attribute("aria-invalid", "true")
    follow_summary_link(page, "Label: This field is required.", label)
    page.keyboard.type("Payments Signing")
    tab_to(page, page.get_by_label("Key Size"))
    page.keyboard.press("End")  # the last choice: an ECDSA key (fast to make)
    tab_to(page, page.get_by_role("button", name="Save"))
    page.keyboard.press("Enter")

    expect(page.get_by_text("Created self-signed certificate Payments_Signing.")).to_be_visible()
    assert Certificate.objects.filter(organization=acme, unique_name="Payments_Signing").exists()


def test_upload_a_chain_with_the_keyboard(
    page: Page, acme: Organization, alice: User, tmp_path: Path, openssl_ca: OpenSslCa
) -> None:
    awaiting = ca_signed(acme)
    log_in(page, alice)
    page.goto(reverse("certadmin:certificate-upload-signed", args=[acme.public_id, awaiting.uuid]))
    upload = page.get_by_role("button", name="Upload")
    file_input = page.get_by_label("Signed certificate")

    tab_to(page, upload)
    page.keyboard.press("Enter")
    expect(summary(page)).to_be_focused()
    expect(summary(page)).to_contain_text("Nothing was changed.")
    follow_summary_link(page, "Signed certificate: This field is required.", file_input)
    expect(file_input).to_have_attribute("aria-invalid", "true")

    # A certificate of another key: refused, focus on the summary again.
    other = tmp_path / "other.pem"
    other.write_bytes(make_certificate()[0])
    file_input.set_input_files(str(other))
    tab_to(page, upload)
    page.keyboard.press("Enter")
    expect(summary(page)).to_be_focused()
    expect(summary(page)).to_contain_text("Nothing was changed.")

    chain = tmp_path / "chain.pem"
    chain.write_bytes(openssl_ca.sign(awaiting.csr_pem) + openssl_ca.intermediate_pem)
    page.get_by_label("Signed certificate").set_input_files(str(chain))
    tab_to(page, upload)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Saved the signed certificate of Web_Server.")).to_be_visible()


def test_import_a_keystore_with_the_keyboard(
    page: Page, acme: Organization, alice: User, tmp_path: Path
) -> None:
    store = genkey(tmp_path, "store.p12", "payments", "-keyalg", "EC", storetype="PKCS12")
    log_in(page, alice)
    page.goto(reverse("certadmin:keystore-import", args=[acme.public_id]))
    password = page.get_by_label("Keystore Password")
    keystore = page.get_by_label("Keystore File")
    submit = page.get_by_role("button", name="Import")

    tab_to(page, submit)
    page.keyboard.press("Enter")
    expect(summary(page)).to_be_focused()
    expect(summary(page)).to_contain_text("No certificate was imported.")
    follow_summary_link(page, "Keystore File: This field is required.", keystore)

    keystore.set_input_files(str(store))
    tab_to(page, password)
    page.keyboard.type("not the password")
    page.keyboard.press("Enter")
    expect(summary(page)).to_be_focused()
    expect(summary(page)).to_contain_text("No certificate was imported.")

    page.get_by_label("Keystore File").set_input_files(str(store))
    tab_to(page, page.get_by_label("Keystore Password"))
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("table", name="Imported certificates")).to_contain_text(
        re.compile("payments", re.IGNORECASE)
    )


def test_assign_notifications_with_the_keyboard(
    page: Page, acme: Organization, alice: User, bob: User
) -> None:
    log_in(page, alice)
    page.goto(reverse("notifications:settings", args=[acme.public_id]))
    chooser = page.get_by_label("Assign to")
    tab_to(page, chooser)
    page.keyboard.press("End")  # the last member in the list: bob
    expect(chooser.locator("option:checked")).to_have_text("bob")

    # Another admin deactivates bob meanwhile: the choice is refused.
    User.objects.filter(pk=bob.pk).update(is_active=False)
    tab_to(page, page.get_by_role("button", name="Assign"))
    page.keyboard.press("Enter")
    error = page.locator(".message.error")
    expect(error).to_have_text("Choose a user of this org.")
    expect(error).to_be_focused()

    User.objects.filter(pk=bob.pk).update(is_active=True)
    page.reload()
    tab_to(page, page.get_by_label("Assign to"))
    page.keyboard.press("End")
    tab_to(page, page.get_by_role("button", name="Assign"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("bob now receives every expiration notice.")).to_be_visible()
    expect(page.locator("#holders")).to_contain_text("bob")
