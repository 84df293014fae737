"""API names made from labels (permission sets here; Unique Names in certadmin.naming)."""

import re
import unicodedata


def api_name_from(text: str, max_length: int = 80) -> str:
    """Turn a label into a valid API name, or "" if nothing is left.

    Accents are dropped, every run of other characters becomes one underscore, a leading digit
    gets an "X" in front ("Signing 2027 / EU" -> "Signing_2027_EU"). static/js/unique_name.js
    does the same in the browser as the admin types.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9]+", "_", ascii_text).strip("_")
    if name and not name[0].isalpha():
        name = "X" + name
    return name[:max_length].rstrip("_")
