"""Lists that scale (issue 15): search, every column sorted both ways, page size, the state
kept in the URL, on the Certificate and Key Management and Expired Certificates pages and in
the API."""

import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from certadmin.models import Certificate
from orgs.models import Organization
from tests.api.conftest import api_get
from tests.certadmin.conftest import ca_signed, self_signed
from tests.certadmin.sso_helpers import make_config

NAMES = ("Name_1", "Name_2", "Name_3")


def _list_url(org: Organization) -> str:
    return reverse("certadmin:certificate-list", args=[org.public_id])


def _shown(html: str, names: tuple[str, ...] = NAMES) -> list[str]:
    """The certificates of the main table, in the page's order."""
    table = html.split('id="certificates"')[1].split("</table>")[0]
    found = [name for name in names if f"<td>{name}</td>" in table]
    return sorted(found, key=lambda name: table.index(f"<td>{name}</td>"))


@pytest.fixture
def three(acme: Organization) -> dict[str, Certificate]:
    """Name_1: "Charlie", self-signed EC P-256, exportable, expires in 300 days, used by SSO.
    Name_2: "Alpha", CA-signed RSA 2048 awaiting its chain, not exportable.
    Name_3: "Bravo", self-signed EC P-384, exportable, expired 5 days ago."""
    now = timezone.now()
    one = self_signed(acme, "Name_1", key_type="EC-P256")
    two = ca_signed(acme, "Name_2", key_type="EC-P256", exportable=False)
    three = self_signed(acme, "Name_3", key_type="EC-P384")
    Certificate.objects.filter(pk=one.pk).update(label="Charlie", not_after=now + timedelta(300))
    Certificate.objects.filter(pk=two.pk).update(label="Alpha", key_type="RSA-2048")
    Certificate.objects.filter(pk=three.pk).update(label="Bravo", not_after=now - timedelta(5))
    make_config(acme, signer=one)
    return {"Name_1": one, "Name_2": two, "Name_3": three}


ASCENDING = {
    "label": ["Name_2", "Name_3", "Name_1"],
    "unique_name": ["Name_1", "Name_2", "Name_3"],
    "type": ["Name_2", "Name_1", "Name_3"],
    "key": ["Name_1", "Name_3", "Name_2"],
    "exportable": ["Name_2", "Name_1", "Name_3"],
    "status": ["Name_1", "Name_2", "Name_3"],  # Active, Awaiting, Expired
    "used": ["Name_2", "Name_3", "Name_1"],  # unused first, ties by Unique Name
    "expires": ["Name_3", "Name_1", "Name_2"],  # awaiting (no date) last
}


@pytest.mark.usefixtures("three")
@pytest.mark.parametrize("column", list(ASCENDING))
def test_every_column_sorts_both_ways(
    alice_client: Client, acme: Organization, column: str
) -> None:
    up = alice_client.get(_list_url(acme), {"sort": column, "dir": "asc"})
    down = alice_client.get(_list_url(acme), {"sort": column, "dir": "desc"})

    assert _shown(up.content.decode()) == ASCENDING[column]
    expected_down = list(reversed(ASCENDING[column]))
    if column == "expires":  # the one awaiting its chain stays last either way
        expected_down = ["Name_1", "Name_3", "Name_2"]
    assert _shown(down.content.decode()) == expected_down
    # The heading says how the list is sorted, and links to the other direction.
    heading = re.search(rf'<th scope="col" aria-sort="(\w+)"><a href="([^"]*sort={column}[^"]*)"',
                        up.content.decode())  # fmt: skip
    assert heading is not None
    assert heading.group(1) == "ascending"
    assert "dir=desc" in heading.group(2)


@pytest.mark.usefixtures("three")
def test_the_api_sorts_by_the_same_columns(acme: Organization, alice_token: str) -> None:
    url = reverse("api:certificate-list", args=[acme.public_id])
    for column, ascending in ASCENDING.items():
        for ordering, expected in ((column, ascending), (f"-{column}", ascending[::-1])):
            if ordering == "-expires":
                expected = ["Name_1", "Name_3", "Name_2"]
            body = json.loads(
                api_get(
                    client=Client(), url=url, token=alice_token, data={"ordering": ordering}
                ).content
            )
            assert [c["unique_name"] for c in body["results"]] == expected, ordering


def _colons(hex_text: str) -> str:
    return ":".join(hex_text[i : i + 2] for i in range(0, len(hex_text), 2))


def test_search_finds_each_field(
    alice_client: Client, acme: Organization, alice_token: str, three: dict[str, Certificate]
) -> None:
    one, three_ = three["Name_1"], three["Name_3"]
    Certificate.objects.filter(pk=one.pk).update(
        subject="CN=payments.acme.test,O=Acme", issuer="CN=Acme Issuing CA 7,O=Acme"
    )
    one.refresh_from_db()
    three_.refresh_from_db()
    serial = three_.serial.rjust(len(three_.serial) + len(three_.serial) % 2, "0")
    searches = {
        "label": ("alph", ["Name_2"]),
        "unique name": ("name_3", ["Name_3"]),
        "subject": ("payments.ACME", ["Name_1"]),
        "issuer": ("issuing ca 7", ["Name_1"]),
        # As the detail page prints them: colon-separated hex, any case.
        "serial": (_colons(serial).lower(), ["Name_3"]),
        "fingerprint": (_colons(one.fingerprint_sha256.upper()), ["Name_1"]),
        "part of a fingerprint": (one.fingerprint_sha256[10:30], ["Name_1"]),
    }
    api_url = reverse("api:certificate-list", args=[acme.public_id])
    for field, (text, expected) in searches.items():
        page = alice_client.get(_list_url(acme), {"q": text})
        api = api_get(client=Client(), url=api_url, token=alice_token, data={"q": text})

        assert _shown(page.content.decode()) == expected, field
        assert [c["unique_name"] for c in json.loads(api.content)["results"]] == expected, field


@pytest.mark.usefixtures("three")
def test_search_that_finds_nothing_says_so(alice_client: Client, acme: Organization) -> None:
    response = alice_client.get(_list_url(acme), {"q": "no such thing"})

    assertContains(response, "No certificates match “no such thing”.")
    assertContains(response, 'value="no such thing"')


@pytest.mark.usefixtures("three")
@pytest.mark.parametrize("text", ["%", "\\", "'; drop table x;--", "\x00", "é" * 500, "  "])
def test_hostile_search_text_is_a_search(
    alice_client: Client, acme: Organization, text: str
) -> None:
    page = alice_client.get(_list_url(acme), {"q": text})
    expired = alice_client.get(
        reverse("certadmin:certificate-expired", args=[acme.public_id]), {"q": text}
    )

    assert page.status_code == 200
    assert expired.status_code == 200
    # Wildcards are plain characters; nothing but blanks (or a NUL) is no search at all.
    expected = [] if text.strip("\x00 ") else ASCENDING["expires"]
    assert _shown(page.content.decode()) == expected


def _bulk(org: Organization, count: int) -> None:
    now = timezone.now()
    Certificate.objects.bulk_create(
        Certificate(
            organization=org, label=f"Bulk {i:03}", unique_name=f"Bulk_{i:03}",
            kind="self_signed", key_type="EC-P256", private_key=b"\x01sealed-dummy",
            not_before=now - timedelta(days=1), not_after=now + timedelta(days=i + 1),
        )
        for i in range(count)
    )  # fmt: skip


@pytest.mark.parametrize(
    ("size", "rows"), [("25", 25), ("50", 50), ("100", 100), ("200", 130), ("7", 50), ("x", 50)]
)
def test_page_size_choice(alice_client: Client, acme: Organization, size: str, rows: int) -> None:
    _bulk(acme, 130)

    html = alice_client.get(_list_url(acme), {"size": size}).content.decode()

    assert html.count("<td>Bulk_") == rows
    assert re.search(rf'<strong aria-current="true">{rows if rows != 130 else 200}</strong>', html)


def _links(html: str) -> list[dict[str, list[str]]]:
    """The query of every link of the certificates table's page (headings, pages, sizes)."""
    main = html.split('id="mutual-auth"')[0]
    hrefs = re.findall(r'href="\?([^"]*)"', main)
    return [parse_qs(href.replace("&amp;", "&")) for href in hrefs]


def test_the_state_is_kept_in_the_url_and_carried_by_every_link(
    alice_client: Client, acme: Organization
) -> None:
    _bulk(acme, 80)
    state = {"q": "bulk", "filter": "60", "sort": "label", "dir": "desc", "size": "25", "page": "2"}

    response = alice_client.get(_list_url(acme), state)
    html = response.content.decode()

    # Page 2 of the 60 expiring within 60 days (Bulk_000 to Bulk_059), by label descending,
    # 25 a page: Bulk_034 down to Bulk_010.
    assert html.count("<td>Bulk_") == 25
    assert html.index("<td>Bulk_034</td>") < html.index("<td>Bulk_010</td>")
    assert "<td>Bulk_035</td>" not in html  # on page 1
    assert "<td>Bulk_009</td>" not in html  # on page 3
    assert "Page 2 of 3" in html
    links = _links(html)
    assert links
    for link in links:
        kept = {k: v for k, v in state.items() if k in link and k != "page"}
        # Each link changes only what it is about (a heading the sort, a size the size...).
        changed = {k for k in state if k != "page" and link.get(k) != [state[k]]}
        assert changed <= {"sort", "dir", "size", "filter", "q"}, link
        assert len(changed) <= 2, (link, kept)
    # Following the "Next" link then "Previous" comes back to the same page.
    next_href = re.search(r'href="\?([^"]*)" rel="next"', html)
    assert next_href is not None
    following = alice_client.get(_list_url(acme) + "?" + next_href.group(1).replace("&amp;", "&"))
    back = re.search(r'href="\?([^"]*)" rel="prev"', following.content.decode())
    assert back is not None
    assert parse_qs(back.group(1).replace("&amp;", "&")) == {k: [v] for k, v in state.items()}
    # The search box's form carries the rest of the state (but starts again at page 1).
    form = html.split('role="search"')[1].split("</form>")[0]
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))
    assert hidden == {"filter": "60", "sort": "label", "dir": "desc", "size": "25"}


def test_expired_page_searches_sorts_and_sizes(alice_client: Client, acme: Organization) -> None:
    now = timezone.now()
    for name, days in (("Old_A", -10), ("Old_B", -3), ("Soon_C", 20)):
        cert = self_signed(acme, name)
        Certificate.objects.filter(pk=cert.pk).update(not_after=now + timedelta(days=days))
    url = reverse("certadmin:certificate-expired", args=[acme.public_id])

    def shown(**params: str) -> list[str]:
        html = alice_client.get(url, params).content.decode()
        table = html.split('id="expired-certificates"')[1]
        names = [n for n in ("Old_A", "Old_B", "Soon_C") if f"<td>{n}</td>" in table]
        return sorted(names, key=lambda n: table.index(f"<td>{n}</td>"))

    assert shown() == ["Old_A", "Old_B", "Soon_C"]
    assert shown(sort="expires", dir="desc") == ["Soon_C", "Old_B", "Old_A"]
    assert shown(sort="label", dir="desc") == ["Soon_C", "Old_B", "Old_A"]
    assert shown(q="old") == ["Old_A", "Old_B"]
    assert shown(q="old", sort="unique_name", dir="desc") == ["Old_B", "Old_A"]
    assert shown(within="30", q="soon") == ["Soon_C"]
    html = alice_client.get(url, {"size": "25", "within": "30"}).content.decode()
    assert '<strong aria-current="true">25</strong>' in html
    assert 'name="within" value="30"' in html  # the search box keeps the window


def test_list_links_in_the_url_parse(alice_client: Client, acme: Organization) -> None:
    """Every link of the page is a relative query the page itself answers without error."""
    _bulk(acme, 60)
    html = alice_client.get(_list_url(acme), {"q": "bulk", "size": "25"}).content.decode()
    for href in sorted(set(re.findall(r'href="(\?[^"]*)"', html))):
        response = alice_client.get(_list_url(acme) + href.replace("&amp;", "&"))
        assert response.status_code == 200, href
        assert urlsplit(href).query
