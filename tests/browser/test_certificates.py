from pathlib import Path

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from certadmin.models import Certificate
from orgs.models import Organization
from tests.browser.conftest import log_in
from tests.pem import OpenSslCa


def test_admin_creates_both_kinds_and_activates_the_ca_signed_one(
    page: Page, acme: Organization, alice: User, tmp_path: Path, openssl_ca: OpenSslCa
) -> None:
    log_in(page, alice)
    page.get_by_role("link", name="Certificate and Key Management").click()

    # Self-signed: the Unique Name fills itself from the Label.
    page.get_by_role("link", name="Create Self-Signed Certificate").click()
    page.get_by_label("Label").fill("Payments Signing 2026")
    expect(page.get_by_label("Unique Name")).to_have_value("Payments_Signing_2026")
    page.get_by_label("Key Size").select_option("EC-P256")
    page.get_by_role("button", name="Save").click()
    expect(
        page.get_by_text("Created self-signed certificate Payments_Signing_2026.")
    ).to_be_visible()

    # CA-signed: create, download the CSR, sign it with openssl, upload the chain.
    page.get_by_role("link", name="Certificate and Key Management").click()
    page.get_by_role("link", name="Create CA-Signed Certificate").click()
    page.get_by_label("Label").fill("Web Server")
    page.get_by_label("Key Size").select_option("EC-P256")
    page.get_by_label("Common Name").fill("www.acme.test")
    page.get_by_label("Country Code").fill("DE")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Awaiting signed certificate").first).to_be_visible()
    with page.expect_download() as csr_download:
        page.get_by_role("link", name="Download Certificate Signing Request").click()
    assert csr_download.value.suggested_filename == "Web_Server.csr"
    csr_path = tmp_path / "Web_Server.csr"
    csr_download.value.save_as(csr_path)
    chain = tmp_path / "chain.pem"
    chain.write_bytes(openssl_ca.sign(csr_path.read_text()) + openssl_ca.intermediate_pem)

    page.get_by_role("link", name="Upload Signed Certificate").click()
    page.get_by_label("Signed certificate").set_input_files(str(chain))
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_text("Saved the signed certificate of Web_Server.")).to_be_visible()
    expect(page.get_by_role("link", name="Update Signed Certificate")).to_be_visible()
    expect(page.get_by_text("Test Intermediate CA").first).to_be_visible()
    assert Certificate.objects.get(unique_name="Web_Server").status == "Active"
