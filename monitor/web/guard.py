"""What every page and API of the HTTP server does against hostile web pages: the same-origin
rule for requests that change state, the security headers every response carries, and the mark
of a handler that authenticates its own ``Bearer`` requests.

A page on another site can make a duty tablet's browser POST to the daemon (with its cookies
and its remembered basic-auth credentials). Browsers name the page's origin in the ``Origin``
header of every cross-origin POST, so a POST whose Origin is another host, or the opaque
``null`` of a sandboxed frame, is refused. A request without Origin comes from a program
(curl, Prometheus, a script), not from a page, and is let through to its own authentication.

A handler marked :func:`authenticates_itself` (the inspection API, which refuses a wrong token
with 401 before anything else) is handed ``Authorization: Bearer`` requests untouched by the
server's basic authentication (``monitor.app.webconfig``), since one ``Authorization`` header
cannot hold both schemes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from aiohttp import web

__all__ = [
    "SECURITY_HEADERS",
    "add_security_headers",
    "authenticates_itself",
    "require_same_origin",
    "same_origin",
    "takes_bearer_requests",
    "with_sources",
]

H = TypeVar("H", bound=Callable[..., Any])
_OWN_AUTH = "__trunkwatch_authenticates_itself__"

#: Self-contained pages: inline styles, a data: favicon, forms posting to this server only,
#: no scripts, never framed (X-Frame-Options for browsers without frame-ancestors).
SECURITY_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
    }
)


def with_sources(policy: str, **sources: str) -> str:
    """``policy`` (a Content-Security-Policy) allowing more: each keyword names a directive
    (``script_src`` is ``script-src``) and the sources it adds to it, for the few pages that
    need more than the rest (their own script, their own images)."""
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    for key, added in sources.items():
        values = directives.setdefault(key.replace("_", "-"), [])
        values.extend(v for v in added.split() if v not in values)
    return "; ".join(" ".join([name, *values]) for name, values in directives.items())


def same_origin(request: web.Request) -> bool:
    """Whether the request names no Origin, or this server's own host as its Origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    host = origin.split("://", 1)[-1]
    return host.lower() == request.host.lower()


def require_same_origin(request: web.Request) -> None:
    """Refuse (403) a request sent by a page of another origin."""
    if not same_origin(request):
        raise web.HTTPForbidden(text="cross-site request refused")


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """An ``on_response_prepare`` hook: every response, error pages included, gets the headers
    a handler has not set itself."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def authenticates_itself(handler: H) -> H:
    """Mark a handler that authenticates ``Authorization: Bearer`` requests itself."""
    setattr(handler, _OWN_AUTH, True)
    return handler


def takes_bearer_requests(handler: object) -> bool:
    """Whether ``handler`` was marked by :func:`authenticates_itself`."""
    return bool(getattr(handler, _OWN_AUTH, False))
