"""The panels of Setup Home: each app adds its own from its AppConfig.ready(), as it adds its
Setup pages to orgs.setup_tree, so orgs never names another app.

A panel is a template and the function giving its context; a member sees the panels whose
permission they hold. Each panel's context function should cost a fixed number of queries
whatever the size of the org (the certificates panel is one aggregate query).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orgs.http import OrgRequest


@dataclass(frozen=True)
class Panel:
    template: str
    context: Callable[[OrgRequest], dict[str, Any]]
    perm: str | None  # the codename a member needs to see it; None: every member
    order: int


_PANELS: list[Panel] = []


def add(
    template: str,
    context: Callable[[OrgRequest], dict[str, Any]],
    perm: str | None,
    *,
    order: int,
) -> None:
    """Declare a panel (from an AppConfig.ready()); declaring it again changes nothing."""
    if not any(panel.template == template for panel in _PANELS):
        _PANELS.append(Panel(template, context, perm, order))


def for_member(request: OrgRequest) -> list[tuple[str, dict[str, Any]]]:
    """[(template, its context)] of the panels this member may see, in order."""
    shown = sorted(_PANELS, key=lambda panel: panel.order)
    return [
        (panel.template, panel.context(request))
        for panel in shown
        if panel.perm is None or panel.perm in request.perms
    ]
