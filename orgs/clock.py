"""One clock (issue 15): what "today", "days left" and a shown date mean, everywhere.

A certificate's *days left* is the number of calendar days between today and its expiration
date, both taken in the org's time zone: 0 = it expires (or expired) today, 1 = tomorrow,
-3 = it expired three days ago. Every page, the expiry email, the API (`days_left`), the
Setup Home counts and the due-notice planning (notifications.windows) count with
`days_left` here, and word it with `phrase`; a list that filters on days left compares the
column with `day_end` (an indexed range, never a function on the column).

Shown moments use one format, `2026-12-07 13:18 CET` (`FORMAT`: the org's zone named), and
shown days `2026-12-07` (`DAY_FORMAT`); templates use the `when` / `day` filters of
`orgs.templatetags.clock`, Python code `when` / `day` below.
"""

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.utils import timezone
from django.utils.dateformat import format as django_format
from django.utils.translation import ngettext

# Django date format characters: "2026-12-07 13:18 CET" and "2026-12-07".
FORMAT = "Y-m-d H:i T"
DAY_FORMAT = "Y-m-d"


def today(tz: tzinfo, now: datetime | None = None) -> date:
    """The calendar day it is in `tz` at `now` (default: the current time)."""
    return (now or timezone.now()).astimezone(tz).date()


def local_date(moment: datetime, tz: tzinfo) -> date:
    """The calendar day `moment` falls on in `tz`."""
    return moment.astimezone(tz).date()


def days_left(expires_at: datetime, tz: tzinfo, now: datetime | None = None) -> int:
    """Calendar days from today to the expiration date, both in `tz` (negative: expired)."""
    return (local_date(expires_at, tz) - today(tz, now)).days


def days_between(expires_at: datetime, today: date, tz: tzinfo) -> int:
    """`days_left` when the caller already knows today's date in `tz` (batch jobs)."""
    return (local_date(expires_at, tz) - today).days


def start_of_day(day: date, tz: tzinfo) -> datetime:
    """The first instant of `day` in `tz`, as an aware UTC datetime (for indexed bounds)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def day_end(days: int, tz: tzinfo, now: datetime | None = None) -> datetime:
    """The first instant after the day `days` days from today in `tz`: a certificate has at
    most `days` days left exactly when `not_after < day_end(days, ...)`."""
    return start_of_day(today(tz, now) + timedelta(days=days + 1), tz)


def phrase(days: int) -> str:
    """The words for `days` left: "expires in 4 days", "expires tomorrow", "expires today",
    "expired 1 day ago", "expired 3 days ago" (1 day singular)."""
    if days > 1:
        return ngettext("expires in %(n)d day", "expires in %(n)d days", days) % {"n": days}
    if days == 1:
        return "expires tomorrow"
    if days == 0:
        return "expires today"
    ago = -days
    return ngettext("expired %(n)d day ago", "expired %(n)d days ago", ago) % {"n": ago}


def expiry_phrase(expires_at: datetime, tz: tzinfo, now: datetime | None = None) -> str:
    """`phrase` of a certificate's expiry, saying "expired today" once the moment passed."""
    now = now or timezone.now()
    days = days_left(expires_at, tz, now)
    if days == 0 and expires_at <= now:
        return "expired today"
    return phrase(days)


def when(moment: datetime | None, tz: tzinfo | None = None) -> str:
    """`moment` as every page shows it: "2026-12-07 13:18 CET" (default zone: the current
    one, which the Setup pages set to the org's)."""
    if moment is None:
        return ""
    return django_format(moment.astimezone(tz or timezone.get_current_timezone()), FORMAT)


def day(moment: datetime | None, tz: tzinfo | None = None) -> str:
    """The calendar day of `moment` in `tz`: "2026-12-07"."""
    if moment is None:
        return ""
    return local_date(moment, tz or timezone.get_current_timezone()).isoformat()
