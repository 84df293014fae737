"""The digest is rendered by Django templates (text + HTML): word for word what users got
when it was written with format strings, the HTML escaped, and an installation may word it
its own way by putting its own `emails/expiry_digest.txt` / `.html` in its template dirs."""

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.test import override_settings

from notifications import emails
from notifications.services import send_expiry_notices
from orgs.models import Organization
from tests.notifications.conftest import NOW, expiring, holder, in_days

GOLDEN = Path(__file__).parent / "golden"
ORG_ID = "00DACME0000000001"
SITE = f"https://certadmin.test/o/{ORG_ID}/setup"


def _digest() -> Any:
    """One late day-of line, one due today and one in ten days, with a label and a name
    that HTML would take for markup."""
    lines = [
        emails.Line("Old root", "Mutual Authentication", date(2025, 5, 30), -2, f"{SITE}/ma/1/"),
        emails.Line("www", "Self-Signed", date(2025, 6, 1), 0, f"{SITE}/certificates/2/"),
        emails.Line("<b>api</b>", "CA-Signed", date(2025, 6, 11), 10, f"{SITE}/c/3/?a=1&b=2"),
    ]
    return emails.build_digest(
        org=Organization(name="Acme & Co", public_id=ORG_ID),
        to="alice@acme.test",
        name="Alice O'Hara",
        lines=lines,
        reason="you hold Receive Certificate Expiration Notifications",
        page_url=f"{SITE}/notifications/",
    )


def test_the_text_part_is_word_for_word_what_users_get() -> None:
    message = _digest()

    assert message.subject == "Expiring Certificate Notification"
    assert message.body == (GOLDEN / "digest.txt").read_text()


def test_the_html_part_is_what_users_get_escaped() -> None:
    message = _digest()

    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    assert html == (GOLDEN / "digest.html").read_text()
    assert "&lt;b&gt;api&lt;/b&gt;" in html
    assert "Alice O&#x27;Hara" in html


@pytest.mark.django_db
def test_an_installation_can_word_the_digest_its_own_way(
    tmp_path: Path, settings: Any, mailoutbox: list[EmailMessage], acme: Organization, alice: Any
) -> None:
    own = tmp_path / "emails"
    own.mkdir()
    (own / "expiry_digest.txt").write_text(
        "Hi {{ name }}, {% for line in lines %}{{ line.label }} ({{ line.days_left }}) {% endfor %}"
    )
    engine = {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    holder(acme, alice)
    expiring(acme, "Acme_Cert", in_days(30))

    with override_settings(TEMPLATES=[engine]):
        send_expiry_notices(now=NOW)

    (message,) = mailoutbox
    assert message.body == "Hi alice, Acme Cert (30) "
    assert "Acme Cert" in message.alternatives[0][0]  # the standard HTML part
