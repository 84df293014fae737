"""The certificates panel of Setup Home and the expiry chart it shares with the Certificate
and Key Management page (issue 15).

Every count and every month of the chart is one `Count(filter=...)` of ONE aggregate query
over the org's certificates (plus one count of its mutual authentication certificates), so
the panel costs the same for 10 certificates as for 10,000. The counts use the very
conditions the list's filter links apply (CertificateFilter.q), so a count and the list it
links to cannot disagree.

The chart is an SVG drawn here on the server (no script, no CDN); the same figures are in a
table beside it, each month linking to the list of the certificates expiring in it.
"""

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from certadmin.models import Certificate, MutualAuthCertificate
from certadmin.querysets import CertificateFilter
from orgs.http import OrgRequest

CHART_MONTHS = 24

# Setup Home's counts: (list filter key, what the count says, the criteria).
COUNTS: tuple[tuple[str, str, CertificateFilter], ...] = (
    ("expired", "Expired", CertificateFilter(expired=True)),
    ("10", "Expiring within 10 days", CertificateFilter(expiring_within_days=10)),
    ("30", "Expiring within 30 days", CertificateFilter(expiring_within_days=30)),
    ("60", "Expiring within 60 days", CertificateFilter(expiring_within_days=60)),
    ("awaiting", "Awaiting signed certificate", CertificateFilter(status="awaiting_signature")),
    ("sso", "Used by SSO", CertificateFilter(used_by="sso")),
    ("idp", "Used by the IdP", CertificateFilter(used_by="idp")),
)

# The chart's drawing, in SVG user units (it scales to the width of its panel).
PLOT_HEIGHT = 140
BAR_WIDTH = 22
BAR_GAP = 8
LEFT = 36  # room for the count labels
TOP = 12
BOTTOM = 40  # room for the month labels


@dataclass(frozen=True)
class Month:
    """A calendar month in the org's time zone; `start` is when its certificates count from
    (now, for the current month: those already expired are counted as Expired)."""

    key: str  # "2027-03", the list's `month` parameter
    first_day: date
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return self.first_day.strftime("%b %Y")

    @property
    def long_label(self) -> str:
        return self.first_day.strftime("%B %Y")


@dataclass(frozen=True)
class Bar:
    """A month's bar; its count is written just above it."""

    month: Month
    count: int
    url: str
    x: int
    y: float
    height: float
    label_x: float
    width: int
    show_label: bool  # every third month is named under the axis

    @property
    def value_y(self) -> float:
        return self.y - 3


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    plot_bottom: int
    peak: int
    gridlines: list[tuple[float, int]]  # (y, value)
    total: int
    left: int = LEFT

    @property
    def axis_label_x(self) -> int:
        return self.left - 6

    @property
    def month_label_y(self) -> int:
        return self.plot_bottom + 16

    @property
    def description(self) -> str:
        """The chart in a sentence (its SVG's description)."""
        busiest = max(self.bars, key=lambda bar: bar.count)
        text = f"{self.total} certificates expire in the next {len(self.bars)} months"
        if busiest.count:
            text += f"; the most in {busiest.month.long_label} ({busiest.count})"
        return text + "."


def month_start(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day.replace(day=1), datetime.min.time(), tzinfo=tz)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_ahead(now: datetime, tz: tzinfo, count: int = CHART_MONTHS) -> list[Month]:
    """The current month (in `tz`) and the `count - 1` after it."""
    first = timezone.localtime(now, tz).date().replace(day=1)
    found = []
    for i in range(count):
        day = add_months(first, i)
        start = month_start(day, tz)
        found.append(
            Month(day.strftime("%Y-%m"), day, max(start, now), month_start(add_months(day, 1), tz))
        )
    return found


def month_of(key: str, now: datetime, tz: tzinfo) -> Month | None:
    """The Month of a `month` parameter ("2027-03") within the chart's 24, or None."""
    return next((m for m in months_ahead(now, tz) if m.key == key), None)


def month_q(month: Month) -> Q:
    return Q(not_after__gte=month.start, not_after__lt=month.end)


def list_url(org: str, **params: str) -> str:
    path = reverse("certadmin:certificate-list", args=[org])
    return f"{path}?{urlencode(params)}" if params else path


def chart_counts(
    request: OrgRequest, now: datetime, *, with_counts: bool = True
) -> tuple[list[Month], dict[str, int]]:
    """The chart's months and (`with_counts`) Setup Home's counts: one query. The chart alone
    reads only the certificates expiring within its 24 months (a range on the org's expiry
    index), not the org's every row."""
    tz = request.org.tzinfo
    months = months_ahead(now, tz)
    certificates = Certificate.objects.for_org(request.org)
    conditions = {f"m{i}": month_q(month) for i, month in enumerate(months)}
    if with_counts:
        conditions |= {key: criteria.q(now, tz) for key, criteria in _count_criteria()}
    else:
        certificates = certificates.filter(not_after__gte=now, not_after__lt=months[-1].end)
    return months, certificates.counts(conditions)


def _count_criteria() -> list[tuple[str, CertificateFilter]]:
    return [(key, criteria) for key, _, criteria in COUNTS]


def draw_chart(org: str, months: list[Month], counts: dict[str, int]) -> Chart:
    values = [counts[f"m{i}"] for i in range(len(months))]
    peak = max([*values, 1])
    # Round the scale up to a number the gridlines can name (1, 2, 5, 10, 20, 50...).
    scale = next(
        step * 10**power for power in range(7) for step in (1, 2, 5) if step * 10**power >= peak
    )
    bars = []
    for i, (month, value) in enumerate(zip(months, values, strict=True)):
        height = PLOT_HEIGHT * value / scale
        x = LEFT + i * (BAR_WIDTH + BAR_GAP)
        bars.append(
            Bar(
                month=month,
                count=value,
                url=list_url(org, month=month.key),
                x=x,
                y=TOP + PLOT_HEIGHT - height,
                height=height,
                label_x=x + BAR_WIDTH / 2,
                width=BAR_WIDTH,
                show_label=i % 3 == 0,
            )
        )
    gridlines = [(TOP + PLOT_HEIGHT * (1 - f), round(scale * f)) for f in (0, 0.5, 1)]
    return Chart(
        bars=bars,
        width=LEFT + len(months) * (BAR_WIDTH + BAR_GAP),
        height=TOP + PLOT_HEIGHT + BOTTOM,
        plot_bottom=TOP + PLOT_HEIGHT,
        peak=peak,
        gridlines=gridlines,
        total=sum(values),
    )


def expiry_chart(request: OrgRequest, *, now: datetime | None = None) -> Chart:
    """The chart alone (the Certificate and Key Management page): one query."""
    months, counts = chart_counts(request, now or timezone.now(), with_counts=False)
    return draw_chart(request.org.public_id, months, counts)


def home_panel(request: OrgRequest) -> dict[str, Any]:
    """Context of Setup Home's certificates panel (for members holding Manage Certificates):
    two queries whatever the size of the org."""
    now = timezone.now()
    months, counts = chart_counts(request, now)
    org = request.org.public_id
    return {
        "counts": [(label, counts[key], list_url(org, filter=key)) for key, label, _ in COUNTS],
        "mutual_auth_count": MutualAuthCertificate.objects.for_org(request.org).count(),
        "chart": draw_chart(org, months, counts),
    }
