"""Counted nouns in messages: "1 certificate", "3 certificates", never "certificate(s)"."""

from django.utils.translation import ngettext


def count(n: int, singular: str, plural: str) -> str:
    """`n` and the noun that agrees with it: count(1, "entry", "entries") == "1 entry"."""
    return f"{n} {ngettext(singular, plural, n)}"
