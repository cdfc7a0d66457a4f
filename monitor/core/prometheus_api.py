"""One request to a Prometheus-compatible HTTP API (Prometheus, VictoriaMetrics): the answer's
``data``, or an error that says whether the source did not answer or rejected the query.

Feature packages that read history (capacity, availability) keep their own error types; they
pass them in, so aiohttp's errors are converted here once, at the boundary, into theirs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

__all__ = ["api_get"]


async def api_get(
    session: aiohttp.ClientSession,
    url: str,
    params: Mapping[str, str],
    *,
    request_timeout: float,
    unavailable: Callable[[str], Exception],
    rejected: Callable[[str], Exception],
) -> Any:
    """GET ``url`` and return the answer's ``data``.

    Raises ``unavailable(reason)`` when there is no answer (refused, timed out), the answer is
    not a Prometheus one, or it is HTTP 5xx, 401, 403 or 404; ``rejected(reason)`` when the
    source answered but rejected the query."""
    try:
        async with session.get(
            url, params=params, timeout=aiohttp.ClientTimeout(total=request_timeout)
        ) as response:
            status = response.status
            text = await response.text()
    except TimeoutError as exc:
        raise unavailable(f"{url}: no answer within {request_timeout:g} s") from exc
    except aiohttp.ClientError as exc:
        raise unavailable(f"{url}: {exc}") from exc
    try:
        body = json.loads(text)
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        raise unavailable(f"{url}: HTTP {status}, not a Prometheus answer") from exc
    if status >= 500 or status in (401, 403, 404):
        raise unavailable(f"{url}: HTTP {status} {body.get('error', '')}".rstrip())
    if status != 200 or body.get("status") != "success":
        raise rejected(
            f"{url}: {body.get('errorType', 'error')}: {body.get('error', f'HTTP {status}')}"
        )
    return body.get("data", {})
