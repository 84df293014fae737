"""The one date format (orgs.clock) for whatever Django formats itself: `{{ moment }}` and
`|date` without an argument in templates, the admin's lists and forms' initial values read
back. `FORMAT_MODULE_PATH` points here (settings)."""

from orgs.clock import DAY_FORMAT, FORMAT

DATETIME_FORMAT = FORMAT  # 2026-12-07 13:18 CET
SHORT_DATETIME_FORMAT = FORMAT
DATE_FORMAT = DAY_FORMAT  # 2026-12-07
SHORT_DATE_FORMAT = DAY_FORMAT
TIME_FORMAT = "H:i"
