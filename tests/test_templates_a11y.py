"""What the templates must keep so the pages stay accessible (docs/accessibility.md), checked
on the template sources, so a new page cannot forget it; and the form errors as rendered."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains

from orgs.models import Organization
from tests.certadmin.conftest import ca_signed

TEMPLATES = sorted(
    p
    for p in (Path(__file__).parent.parent / "templates").rglob("*.html")
    if "emails" not in p.parts
)


def _text(path: Path) -> str:
    return path.read_text()


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_data_table_has_a_caption(path: Path) -> None:
    for match in re.finditer(r"<table\b[^>]*>", _text(path)):
        after = _text(path)[match.end() :].lstrip()
        assert after.startswith("<caption"), f"{path.name}: {match.group()} has no caption"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_no_hand_built_inputs(path: Path) -> None:
    """Files, text and choices go through Django's field rendering (label, aria-invalid,
    aria-describedby); only hidden inputs and the search box of the tree are written by hand."""
    text = _text(path)
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", text):
        assert 'type="hidden"' in tag or 'type="checkbox"' in tag or 'id="quick-find"' in tag, (
            f"{path.name}: {tag}"
        )


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_form_errors_go_through_the_error_summary(path: Path) -> None:
    text = _text(path)
    if "form.non_field_errors" in text or re.search(r"form\.errors\b", text):
        assert '{% include "_error_summary.html"' in text, path.name


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_row_actions_say_which_row(path: Path) -> None:
    for line in _text(path).splitlines():
        if 'class="action"' in line and "aria-label=" not in line:
            bare = re.findall(r">(Edit|Del|Delete|Revoke|Remove|Select|Renew…|Replace…)</", line)
            assert not bare, f"{path.name}: {bare} without the row's name: {line.strip()}"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_sortable_headers_say_how_they_are_sorted(path: Path) -> None:
    for header in re.findall(r"<th\b.*?</th>", _text(path), flags=re.DOTALL):
        if "sort=" in header:
            assert "aria-sort" in header, f"{path.name}: {header}"


def test_a_failed_upload_links_its_summary_to_the_file_field(
    alice_client: Client, acme: Organization
) -> None:
    awaiting = ca_signed(acme)
    url = reverse("certadmin:certificate-upload-signed", args=[acme.public_id, awaiting.uuid])

    response = alice_client.post(url, {"certificate": ""})  # submitted without a file

    assertContains(response, 'id="error-summary" tabindex="-1"', status_code=400)
    assertContains(
        response,
        '<a href="#id_certificate">Signed certificate: This field is required.</a>',
        status_code=400,
    )
    assertContains(response, "Nothing was changed.", status_code=400)
    field = re.search(r'<input type="file"[^>]*>', response.content.decode())
    assert field is not None
    assert 'aria-invalid="true"' in field.group()
    assert 'aria-describedby="id_certificate_helptext id_certificate_error"' in field.group()


def test_a_form_without_errors_has_no_summary(alice_client: Client, acme: Organization) -> None:
    response = alice_client.get(reverse("certadmin:keystore-import", args=[acme.public_id]))

    assert b"error-summary" not in response.content
    assertContains(response, "marks a required field")
    assertContains(response, '<span class="required-marker" aria-hidden="true"> *</span>')


def test_a_refused_login_marks_both_fields_invalid(client: Client, alice: User) -> None:
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})

    html = response.content.decode()
    assert 'id="error-summary"' in html
    for name in ("username", "password"):
        field = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
        assert field is not None
        assert 'aria-invalid="true"' in field.group()
        assert 'aria-describedby="error-summary-list"' in field.group()
