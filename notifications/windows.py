"""Threshold windows: which notice a certificate is due for on a given day (SPEC 4).

Pure date arithmetic, no Django models. A certificate's *days left* is counted in calendar
days of its org's time zone: (expiration date) - (today), both local dates (orgs.clock, the
one definition every page, email and the API use). A notice for
threshold T is due while the days left lie in T's window, between T and the next smaller
threshold: with (60, 30, 10, 1, 0) the windows are 31-60, 11-30, 2-10, 1 and 0 days.
So a missed run is caught up the next time the job runs, with the tightest notice reached.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from orgs import clock


@dataclass(frozen=True)
class Window:
    threshold: int
    first_day: int  # smallest number of days left inside the window
    last_day: int  # largest (= the threshold)

    def __contains__(self, days_left: object) -> bool:
        return isinstance(days_left, int) and self.first_day <= days_left <= self.last_day


def normalize(thresholds: Iterable[int]) -> tuple[int, ...]:
    """Distinct non-negative thresholds, largest first; ValueError on nonsense."""
    values = sorted({int(t) for t in thresholds}, reverse=True)
    if not values or values[-1] < 0:
        raise ValueError("EXPIRY_NOTICE_DAYS needs at least one threshold, none negative.")
    return tuple(values)


def windows(thresholds: Iterable[int]) -> tuple[Window, ...]:
    """The windows of `thresholds`, tightest first: ((0, 0-0), (1, 1-1), (10, 2-10), ...)."""
    ordered = sorted(normalize(thresholds))
    result = []
    previous = -1
    for threshold in ordered:
        result.append(Window(threshold, previous + 1, threshold))
        previous = threshold
    return tuple(result)


def window_for(days_left: int, thresholds: Iterable[int]) -> Window | None:
    """The window `days_left` falls in, or None (expired, or further than the largest)."""
    for window in windows(thresholds):
        if days_left in window:
            return window
    return None


# The one definition of days left and of a local day (issue 15): orgs.clock.
start_of_day = clock.start_of_day
local_date = clock.local_date


def days_left(expires_at: datetime, today: date, tz: ZoneInfo) -> int:
    """Calendar days from `today` to the local expiration date (0 = expires today):
    orgs.clock.days_left, for a batch that already knows today's date in `tz`."""
    return clock.days_between(expires_at, today, tz)


@dataclass(frozen=True)
class Bounds:
    """Datetime bounds of each window for one day in one time zone.

    `start` / `end` bracket every window (end exclusive); `upper[threshold]` is the first
    instant after that threshold's window. Comparing the column with these keeps the
    expiry index usable (never a function such as `__date` on the column).
    """

    start: datetime
    end: datetime
    upper: dict[int, datetime]


def bounds(today: date, tz: ZoneInfo, thresholds: Iterable[int]) -> Bounds:
    wins = windows(thresholds)
    upper = {w.threshold: start_of_day(today + timedelta(days=w.last_day + 1), tz) for w in wins}
    return Bounds(
        start=start_of_day(today + timedelta(days=wins[0].first_day), tz),
        end=upper[wins[-1].threshold],
        upper=upper,
    )


def urgent(thresholds: Iterable[int]) -> frozenset[int]:
    """The 1-day and 0-day notices, which System Administrators get under SPEC 4 rule 2."""
    return frozenset(t for t in normalize(thresholds) if t <= 1)
