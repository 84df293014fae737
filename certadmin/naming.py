"""The Unique Name rules of SPEC 2 (also used for keystore aliases), explained in words."""

import re

from orgs.naming import api_name_from

MAX_LABEL = 64
MAX_UNIQUE_NAME = 80


def unique_name_problems(value: str) -> list[str]:
    """Every rule `value` breaks, as sentences for the form; empty when it is valid."""
    problems = []
    if not value:
        return ["The Unique Name is required."]
    if not value[0].isascii() or not value[0].isalpha():
        problems.append("The Unique Name must begin with a letter.")
    if any(ch.isspace() for ch in value):
        problems.append("The Unique Name cannot contain spaces.")
    if re.search(r"[^A-Za-z0-9_\s]", value):
        problems.append("The Unique Name can contain only letters, digits and underscores.")
    if value.endswith("_"):
        problems.append("The Unique Name cannot end with an underscore.")
    if "__" in value:
        problems.append("The Unique Name cannot contain two consecutive underscores.")
    if len(value) > MAX_UNIQUE_NAME:
        problems.append(
            f"The Unique Name can have at most {MAX_UNIQUE_NAME} characters (it has {len(value)})."
        )
    return problems


def unique_name_from(text: str) -> str:
    """Turn a label or keystore alias into a valid Unique Name, or "" if nothing is left.

    Mirrors the auto-fill script of the create forms: accents are dropped, every run of other
    characters becomes one underscore, a leading digit gets an "X" in front.
    """
    return api_name_from(text, MAX_UNIQUE_NAME)
