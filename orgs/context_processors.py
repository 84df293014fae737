"""The Setup navigation, built from what the gate already knows about the request."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from orgs import help, permissions, setup_tree
from orgs.links import current_urlconf, org_url


def setup(request: HttpRequest) -> dict[str, Any]:
    org = getattr(request, "org", None)
    if org is None:
        return {}
    held: frozenset[str] = getattr(request, "perms", frozenset())
    urlconf = current_urlconf()
    tree = []
    for heading, entries in setup_tree.sections():
        links = []
        for entry in entries:
            url = org_url(entry.url_name, org.public_id, urlconf)
            links.append(
                {
                    "label": entry.label,
                    "find_label": entry.label.lower(),  # what Quick Find matches
                    "url": url,
                    "allowed": entry.perm is None or entry.perm in held,
                    "active": request.path.startswith(url),
                }
            )
        if links:
            tree.append({"heading": heading, "links": links})
    return {
        "org": org,
        "help_url": _help_url(request),
        "setup_tree": tree,
        "can": {perm.codename: perm.codename in held for perm in permissions.CATALOGUE},
    }


def _help_url(request: HttpRequest) -> str | None:
    """Where "Help for this page" leads (orgs.help), or None for a page without a topic."""
    match = request.resolver_match
    topic = help.topic_for(match.view_name) if match else None
    if topic is None:
        return None
    return reverse("help", args=[topic.page]) + (f"#{topic.anchor}" if topic.anchor else "")
