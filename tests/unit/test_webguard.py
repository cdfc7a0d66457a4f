"""The same-origin rule for state-changing requests, and the security headers."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from monitor.web.guard import (
    SECURITY_HEADERS,
    add_security_headers,
    require_same_origin,
    same_origin,
)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),  # curl, Prometheus, scripts: no page behind the request
        ("https://monitor.example:9750", True),
        ("http://MONITOR.example:9750", True),
        ("https://evil.example", False),
        ("https://monitor.example:9751", False),
        ("https://monitor.example", False),
        ("null", False),  # a sandboxed frame or a file: page
    ],
)
def test_same_origin_accepts_programs_and_this_host_only(origin: str | None, allowed: bool) -> None:
    headers = {"Host": "monitor.example:9750"}
    if origin is not None:
        headers["Origin"] = origin
    request = make_mocked_request("POST", "/-/reload", headers=headers)
    assert same_origin(request) is allowed
    if not allowed:
        with pytest.raises(web.HTTPForbidden):
            require_same_origin(request)


async def test_headers_are_added_unless_a_handler_set_its_own() -> None:
    request = make_mocked_request("GET", "/")
    response = web.Response(text="x", headers={"Content-Security-Policy": "default-src 'self'"})
    await add_security_headers(request, response)
    assert response.headers["Content-Security-Policy"] == "default-src 'self'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert set(SECURITY_HEADERS) <= set(response.headers)
