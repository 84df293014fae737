"""Every Setup page with data worth looking at, for the page-wide browser checks (axe-core and
reflow): the URL matrix's patterns and samples, plus an org whose lists show every badge, a
64-character label without spaces and a certificate with a three-certificate chain."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page

from certadmin.models import Certificate
from certadmin.services import certificates
from orgs.models import Organization
from tests.certadmin.sso_helpers import make_config
from tests.conftest import grant
from tests.pem import OpenSslCa
from tests.test_url_matrix import ALL_URLS, API_PREFIX, _url

# axe-core, vendored (tests/browser/vendor/README.md says where from and why not a CDN).
AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# 64 characters, no space: the longest label there can be, with nowhere to wrap.
LONG_LABEL = "Payments" + "X" * 48 + "Signing1"
assert len(LONG_LABEL) == 64


@dataclass(frozen=True)
class SetupPage:
    name: str
    url: str


def _certificate(org: Organization, name: str, label: str | None = None) -> Certificate:
    return certificates.create_self_signed(
        org=org,
        label=label or name.replace("_", " "),
        unique_name=name,
        key_type="EC-P256",
        acting_user=None,
    )


def _move_expiry(certificate: Certificate, days: float) -> None:
    Certificate.objects.filter(pk=certificate.pk).update(
        not_after=timezone.now() + timedelta(days=days)
    )


def populate(org: Organization, admin: User, openssl_ca: OpenSslCa) -> list[SetupPage]:
    """Certificates in every state (so every badge shows), a long label, a 3-certificate chain,
    an SSO configuration using one; returns the extra pages worth a visit."""
    grant(org, admin, "customize_application")
    _move_expiry(_certificate(org, "Expired_Partner"), -3)
    _move_expiry(_certificate(org, "Old_Partner"), -40)
    _move_expiry(_certificate(org, "Soon_Partner"), 4.5)
    _move_expiry(_certificate(org, "Tomorrow_Partner"), 1)
    long = _certificate(org, "Long_Label", label=LONG_LABEL)
    awaiting = certificates.create_ca_signed(
        org=org,
        label="Awaiting Chain",
        unique_name="Awaiting_Chain",
        key_type="EC-P256",
        subject=certificates.SubjectFields(common_name="awaiting.acme.test"),
        acting_user=None,
    )
    chained = certificates.create_ca_signed(
        org=org,
        label="Web Server",
        unique_name="Web_Server",
        key_type="EC-P256",
        subject=certificates.SubjectFields(common_name="www.acme.test", country="US"),
        acting_user=None,
    )
    leaf = openssl_ca.sign(chained.csr_pem, name="a11y-leaf")
    certificates.upload_signed_certificate(
        certificate=chained,
        data=leaf + openssl_ca.intermediate_pem + openssl_ca.root_pem,
        acting_user=None,
    )
    make_config(org, "Okta Production", signer=long)
    detail = "certadmin:certificate-detail"
    return [
        SetupPage("chain detail", reverse(detail, args=[org.public_id, chained.uuid])),
        SetupPage("long label detail", reverse(detail, args=[org.public_id, long.uuid])),
        SetupPage("awaiting detail", reverse(detail, args=[org.public_id, awaiting.uuid])),
        SetupPage(
            "upload signed",
            reverse("certadmin:certificate-upload-signed", args=[org.public_id, awaiting.uuid]),
        ),
    ]


def url_pattern_pages(org: Organization) -> Iterator[SetupPage]:
    """One URL per pattern of the org's Setup tree (the URL matrix's samples)."""
    for name, route in ALL_URLS:
        if "<str:org>" in route and not route.startswith(API_PREFIX):
            yield SetupPage(name, _url(name, org))


def html_pages(context: BrowserContext, pages: list[SetupPage]) -> Iterator[SetupPage]:
    """The pages that answer a GET with HTML (downloads, CSV, XML and POST-only actions are
    not pages; what they lead to is)."""
    for setup_page in pages:
        response = context.request.get(setup_page.url, max_redirects=0)
        if response.status == 200 and response.headers["content-type"].startswith("text/html"):
            yield setup_page


# Forms a user fills in: at least one field that is not hidden, a checkbox or a button.
FILLABLE_FORMS = """() => [...document.querySelectorAll('main form')]
  .map((form, index) => [form, index])
  .filter(([form]) => (form.method || '').toLowerCase() === 'post' && form.querySelector(
    'input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=submit]), '
    + 'select, textarea'))
  .map(([, index]) => index)"""


def submit_empty(page: Page, form_index: int) -> None:
    """Submit a form with its text fields cleared (the way a hurried user does)."""
    form = page.locator("main form").nth(form_index)
    for field in form.locator(
        "input[type=text], input[type=email], input[type=password], textarea"
    ).all():
        if field.is_visible() and field.is_editable():
            field.fill("")
    with page.expect_navigation():
        form.locator("button[type=submit], button:not([type])").first.click()


def run_axe(page: Page) -> list[str]:
    """axe-core's WCAG 2.0/2.1 A and AA violations on the page, one readable line each."""
    page.add_script_tag(path=str(AXE_JS))
    violations = page.evaluate(
        """async (tags) => (await axe.run(document, {
          runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']}))
          .violations.map(v => `${v.id} (${v.impact}): ${v.help} -- ` + v.nodes.slice(0, 3)
            .map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' '))
            .join(' | '))""",
        WCAG_TAGS,
    )
    return list(violations)
