"""Display masks for encrypted field values: the six Salesforce mask types.

Rules shared by all types (``X`` below stands for the chosen mask character):

* A masked value never shows more than its type's clear part (last 4 or last 3 characters),
  and shows the clear part only when the value is strictly longer than it: a value of at most
  4 (or 3) characters is masked entirely, so a short value is never revealed whole.
* Mask All and Last Four work on the value verbatim: the output has the input's length and
  separators count (and are masked) like any other character.
* Credit Card, SSN, SIN and National Insurance first drop whitespace and hyphens (the
  separators Salesforce inserts) and then print a fixed format whose length does not depend on
  the value: ``XXXX-XXXX-XXXX-1234``, ``XXX-XX-1234``, ``XXX-XXX-123``, ``XX XX XX XX X``.
  A National Insurance value that is not 9 characters once compacted is shown as one ``X``
  per character. The clear part is the last characters of the compacted value, whatever they
  are (digits or letters).
* An empty value (for the fixed formats: one with nothing but separators) masks to ``""``.
"""

from __future__ import annotations

MASK_ALL = "all"
LAST_FOUR = "last_four"
CREDIT_CARD = "credit_card"
NATIONAL_INSURANCE = "nino"
SSN = "ssn"
SIN = "sin"

MASK_TYPES: list[tuple[str, str]] = [
    (MASK_ALL, "Mask All Characters"),
    (LAST_FOUR, "Last Four Characters Clear"),
    (CREDIT_CARD, "Credit Card Number"),
    (NATIONAL_INSURANCE, "National Insurance Number"),
    (SSN, "Social Security Number"),
    (SIN, "Social Insurance Number"),
]
MASK_CHARS = ("*", "X")

# Fixed formats: (group sizes, number of trailing characters left clear, group separator).
_FORMATS: dict[str, tuple[tuple[int, ...], int, str]] = {
    CREDIT_CARD: ((4, 4, 4, 4), 4, "-"),
    SSN: ((3, 2, 4), 4, "-"),
    SIN: ((3, 3, 3), 3, "-"),
    NATIONAL_INSURANCE: ((2, 2, 2, 2, 1), 0, " "),
}


def _compact(value: str) -> str:
    """Return ``value`` without whitespace and hyphens."""
    return "".join(ch for ch in value if not ch.isspace() and ch != "-")


def _clear_tail(value: str, clear: int, mask_char: str) -> str:
    """Mask all of ``value`` but its last ``clear`` characters (all of it if not longer)."""
    if len(value) <= clear:
        return mask_char * len(value)
    return mask_char * (len(value) - clear) + value[len(value) - clear :]


def mask(value: str, mask_type: str, mask_char: str = "*") -> str:
    """Return ``value`` masked for display by ``mask_type`` with ``mask_char``.

    See the module docstring for the exact rules. Raises ``ValueError`` for an unknown
    ``mask_type`` or a ``mask_char`` not in ``MASK_CHARS``.
    """
    if mask_char not in MASK_CHARS:
        raise ValueError(f"Unknown mask character: {mask_char!r}")
    if mask_type == MASK_ALL:
        return mask_char * len(value)
    if mask_type == LAST_FOUR:
        return _clear_tail(value, 4, mask_char)
    if mask_type not in _FORMATS:
        raise ValueError(f"Unknown mask type: {mask_type!r}")
    groups, clear, sep = _FORMATS[mask_type]
    compact = _compact(value)
    if not compact:
        return ""
    if mask_type == NATIONAL_INSURANCE and len(compact) != sum(groups):
        return mask_char * len(compact)
    tail = compact[-clear:] if clear and len(compact) > clear else ""
    flat = mask_char * (sum(groups) - len(tail)) + tail
    starts = [sum(groups[:i]) for i in range(len(groups))]
    return sep.join(flat[start : start + size] for start, size in zip(starts, groups, strict=True))
