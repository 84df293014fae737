"""Tests for keys.masks: every mask type, both mask characters, edge cases."""

from pathlib import Path

import pytest

from keys import masks
from keys.masks import (
    CREDIT_CARD,
    LAST_FOUR,
    MASK_ALL,
    MASK_CHARS,
    MASK_TYPES,
    NATIONAL_INSURANCE,
    SIN,
    SSN,
    mask,
)


def test_constants():
    assert [value for value, _ in MASK_TYPES] == [
        "all",
        "last_four",
        "credit_card",
        "nino",
        "ssn",
        "sin",
    ]
    assert dict(MASK_TYPES) == {
        "all": "Mask All Characters",
        "last_four": "Last Four Characters Clear",
        "credit_card": "Credit Card Number",
        "nino": "National Insurance Number",
        "ssn": "Social Security Number",
        "sin": "Social Insurance Number",
    }
    assert MASK_CHARS == ("*", "X")


@pytest.mark.parametrize(
    ("value", "mask_type", "expected"),
    [
        # Mask All Characters: verbatim, same length, separators masked too.
        ("secret", MASK_ALL, "******"),
        ("123-45-6789", MASK_ALL, "***********"),
        ("a", MASK_ALL, "*"),
        # Last Four Characters Clear.
        ("123456789", LAST_FOUR, "*****6789"),
        ("12345", LAST_FOUR, "*2345"),
        ("1234", LAST_FOUR, "****"),
        ("12", LAST_FOUR, "**"),
        ("4111-1111-1111-1111", LAST_FOUR, "***************1111"),
        ("123 45 6789", LAST_FOUR, "*******6789"),
        # Credit Card Number: fixed format, last four of the compacted value clear.
        ("4111111111111111", CREDIT_CARD, "****-****-****-1111"),
        ("4111-1111-1111-1234", CREDIT_CARD, "****-****-****-1234"),
        ("4111 1111 1111 1234", CREDIT_CARD, "****-****-****-1234"),
        ("378282246310005", CREDIT_CARD, "****-****-****-0005"),
        ("4111111111111111111", CREDIT_CARD, "****-****-****-1111"),
        ("12345", CREDIT_CARD, "****-****-****-2345"),
        ("1234", CREDIT_CARD, "****-****-****-****"),
        ("12-34", CREDIT_CARD, "****-****-****-****"),
        # National Insurance Number: all masked; 9 characters grouped with spaces.
        ("AB123456C", NATIONAL_INSURANCE, "** ** ** ** *"),
        ("AB 12 34 56 C", NATIONAL_INSURANCE, "** ** ** ** *"),
        ("AB-123456-C", NATIONAL_INSURANCE, "** ** ** ** *"),
        ("AB123456", NATIONAL_INSURANCE, "********"),
        ("AB1234567C", NATIONAL_INSURANCE, "**********"),
        ("A", NATIONAL_INSURANCE, "*"),
        # Social Security Number: XXX-XX-1234.
        ("123456789", SSN, "***-**-6789"),
        ("123-45-6789", SSN, "***-**-6789"),
        ("123 45 6789", SSN, "***-**-6789"),
        ("12345678901", SSN, "***-**-8901"),
        ("56789", SSN, "***-**-6789"),
        ("6789", SSN, "***-**-****"),
        ("7", SSN, "***-**-****"),
        # Social Insurance Number: XXX-XXX-123.
        ("046454286", SIN, "***-***-286"),
        ("046-454-286", SIN, "***-***-286"),
        ("046 454 286", SIN, "***-***-286"),
        ("1234", SIN, "***-***-234"),
        ("286", SIN, "***-***-***"),
    ],
)
def test_mask_star(value, mask_type, expected):
    assert mask(value, mask_type) == expected
    assert mask(value, mask_type, "*") == expected


@pytest.mark.parametrize(
    ("value", "mask_type", "expected"),
    [
        ("secret", MASK_ALL, "XXXXXX"),
        ("123456789", LAST_FOUR, "XXXXX6789"),
        ("1234", LAST_FOUR, "XXXX"),
        ("4111-1111-1111-1234", CREDIT_CARD, "XXXX-XXXX-XXXX-1234"),
        ("123", CREDIT_CARD, "XXXX-XXXX-XXXX-XXXX"),
        ("AB 12 34 56 C", NATIONAL_INSURANCE, "XX XX XX XX X"),
        ("AB12", NATIONAL_INSURANCE, "XXXX"),
        ("123-45-6789", SSN, "XXX-XX-6789"),
        ("1234", SSN, "XXX-XX-XXXX"),
        ("046 454 286", SIN, "XXX-XXX-286"),
        ("12", SIN, "XXX-XXX-XXX"),
    ],
)
def test_mask_x(value, mask_type, expected):
    assert mask(value, mask_type, "X") == expected


@pytest.mark.parametrize("mask_type", [value for value, _ in MASK_TYPES])
@pytest.mark.parametrize("mask_char", MASK_CHARS)
def test_empty_value(mask_type, mask_char):
    assert mask("", mask_type, mask_char) == ""


@pytest.mark.parametrize("mask_type", [CREDIT_CARD, NATIONAL_INSURANCE, SSN, SIN])
def test_separators_only_value_is_empty_for_fixed_formats(mask_type):
    assert mask(" - ", mask_type) == ""


def test_separators_only_value_masked_verbatim_for_mask_all_and_last_four():
    assert mask(" - ", MASK_ALL) == "***"
    assert mask(" - ", LAST_FOUR) == "***"


@pytest.mark.parametrize("mask_type", [value for value, _ in MASK_TYPES])
@pytest.mark.parametrize("value", ["1", "12", "123", "1234", "12-3", "A 1"])
def test_values_no_longer_than_clear_part_fully_masked(mask_type, value):
    if mask_type == SIN and len(value) > 3:
        value = value[:3]
    masked = mask(value, mask_type)
    assert set(masked) <= {"*", "-", " "}


@pytest.mark.parametrize("mask_type", [value for value, _ in MASK_TYPES])
def test_never_reveals_more_than_clear_part(mask_type):
    clear = {LAST_FOUR: 4, CREDIT_CARD: 4, SSN: 4, SIN: 3}.get(mask_type, 0)
    masked = mask("9876-5432 1098-7654", mask_type)
    shown = [ch for ch in masked if ch not in "*- "]
    assert len(shown) == clear


@pytest.mark.parametrize("mask_type", ["", "ALL", "last4", "credit card", None])
def test_invalid_mask_type(mask_type):
    with pytest.raises(ValueError, match="mask type"):
        mask("123", mask_type)


@pytest.mark.parametrize("mask_char", ["", "x", "#", "**", None])
def test_invalid_mask_char(mask_char):
    with pytest.raises(ValueError, match="mask character"):
        mask("123", MASK_ALL, mask_char)


def test_module_has_no_django_import():
    assert "django" not in Path(masks.__file__).read_text(encoding="utf-8").lower()
