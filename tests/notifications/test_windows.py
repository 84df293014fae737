"""Threshold windows, without a database."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from notifications import windows

THRESHOLDS = (60, 30, 10, 1, 0)


def test_each_threshold_owns_the_days_down_to_the_next_smaller_one() -> None:
    wins = windows.windows(THRESHOLDS)

    assert [(w.threshold, w.first_day, w.last_day) for w in wins] == [
        (0, 0, 0),
        (1, 1, 1),
        (10, 2, 10),
        (30, 11, 30),
        (60, 31, 60),
    ]


@pytest.mark.parametrize(
    ("days_left", "threshold"),
    [(61, None), (60, 60), (45, 60), (31, 60), (30, 30), (11, 30), (10, 10), (2, 10), (1, 1),
     (0, 0), (-1, None)],
)  # fmt: skip
def test_window_for_days_left(days_left: int, threshold: int | None) -> None:
    window = windows.window_for(days_left, THRESHOLDS)

    assert (window.threshold if window else None) == threshold


def test_bounds_are_local_midnights_as_utc_datetimes() -> None:
    tz = ZoneInfo("America/Los_Angeles")  # UTC-7 in June

    b = windows.bounds(date(2025, 6, 1), tz, THRESHOLDS)

    assert b.start == datetime(2025, 6, 1, 7, 0, tzinfo=UTC)
    assert b.upper[0] == datetime(2025, 6, 2, 7, 0, tzinfo=UTC)
    assert b.upper[1] == datetime(2025, 6, 3, 7, 0, tzinfo=UTC)
    assert b.end == b.upper[60] == datetime(2025, 8, 1, 7, 0, tzinfo=UTC)


def test_days_left_counts_calendar_days_in_the_time_zone() -> None:
    expires = datetime(2025, 6, 2, 3, 0, tzinfo=UTC)  # June 1, 20:00 in Los Angeles

    assert windows.days_left(expires, date(2025, 6, 1), ZoneInfo("UTC")) == 1
    assert windows.days_left(expires, date(2025, 6, 1), ZoneInfo("America/Los_Angeles")) == 0


def test_nonsense_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="none negative"):
        windows.normalize([30, -1])
    with pytest.raises(ValueError, match="at least one"):
        windows.normalize([])
