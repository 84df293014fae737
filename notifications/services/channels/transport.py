"""How a webhook message travels: one POST to the channel's URL, or through its named
credential (mutual TLS, signed); what counts as delivered (a 2xx answer)."""

import json
import threading
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import certifi
import httpx

from certadmin.services import callout
from notifications.models import NotificationChannel

TIMEOUT = 10.0  # seconds per delivery; well under the claim lease

_plain: httpx.Client | None = None
_plain_lock = threading.Lock()


def _plain_client() -> httpx.Client:
    global _plain
    with _plain_lock:
        if _plain is None:
            import ssl

            _plain = httpx.Client(
                verify=ssl.create_default_context(cafile=certifi.where()), timeout=TIMEOUT
            )
        return _plain


@dataclass
class Answer:
    ok: bool
    status: int | None
    error: str


def post(channel: NotificationChannel, body: dict[str, Any], key: UUID, timeout: float) -> Answer:
    """POST one message; never raises for the receiver's or the network's failures."""
    content = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(key)}
    try:
        if channel.named_credential is not None:
            response = callout.send(
                channel.named_credential, "POST", content=content, headers=headers, timeout=timeout
            )
        else:
            response = _plain_client().post(
                channel.url, content=content, headers=headers, timeout=timeout
            )
    except httpx.TimeoutException:
        return Answer(False, None, f"Timed out: no answer within {timeout:g} seconds.")
    except (httpx.HTTPError, OSError, ValueError) as exc:
        return Answer(False, None, f"Not delivered: {exc or type(exc).__name__}")
    if 200 <= response.status_code < 300:
        return Answer(True, response.status_code, "")
    return Answer(
        False,
        response.status_code,
        f"The receiver answered {response.status_code} {response.reason_phrase}.",
    )
