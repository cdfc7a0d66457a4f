"""What goes wrong in SNMP, said once: an agent's error-status as a ``probes.base`` exception,
and the rules a USM user's credentials must meet.

The v1/v2c client and the SNMPv3 session both turn a non-zero error-status into an exception
with ``status_error``; the v3 session's endpoints and the trap receiver's v3 users are both
checked by ``check_usm_credentials``, whose messages never repeat a key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from probes.base import AuthError, NoSuchObject, ProbeError, UnexpectedReply
from probes.snmp.codec import OID, format_oid
from probes.snmp.usm import AUTH_PROTOCOLS, PRIV_PROTOCOLS

__all__ = ["ERROR_STATUS_NAMES", "MIN_KEY_LEN", "check_usm_credentials", "status_error"]

#: error-status values of RFC 1157 and RFC 3416, by number.
ERROR_STATUS_NAMES: Final[dict[int, str]] = {
    0: "noError",
    1: "tooBig",
    2: "noSuchName",
    3: "badValue",
    4: "readOnly",
    5: "genErr",
    6: "noAccess",
    7: "wrongType",
    8: "wrongLength",
    9: "wrongEncoding",
    10: "wrongValue",
    11: "noCreation",
    12: "inconsistentValue",
    13: "resourceUnavailable",
    14: "commitFailed",
    15: "undoFailed",
    16: "authorizationError",
    17: "notWritable",
    18: "inconsistentName",
}
_NO_SUCH_NAME: Final = 2
_AUTHORIZATION_ERROR: Final = 16

# RFC 3414 §11.2: pass phrases shorter than 8 characters are refused by agents.
MIN_KEY_LEN: Final = 8


def status_error(host: str, status: int, index: int, asked: Sequence[OID]) -> ProbeError:
    """The exception for a non-zero error-status from ``host``; ``index`` (1-based, as on the
    wire) points into ``asked``, the OIDs of the request, to name the one the agent blamed.

    SNMPv1's noSuchName is ``NoSuchObject``, authorizationError ``AuthError``; any other status
    is ``UnexpectedReply`` naming it.
    """
    where = f" at {format_oid(asked[index - 1])}" if 0 < index <= len(asked) else ""
    if status == _NO_SUCH_NAME:
        return NoSuchObject(f"{host}: noSuchName{where}")
    if status == _AUTHORIZATION_ERROR:
        return AuthError(f"{host}: authorizationError")
    name = ERROR_STATUS_NAMES.get(status, f"error-status {status}")
    return UnexpectedReply(f"{host}: agent answered {name}{where}")


def check_usm_credentials(
    user: str, auth_protocol: str, auth_key: str, priv_protocol: str, priv_key: str
) -> None:
    """Raise ValueError unless these make a usable USM user (RFC 3414).

    ``auth_protocol="none"`` is noAuthNoPriv, ``priv_protocol="none"`` authNoPriv; privacy
    without authentication does not exist, and keys are pass phrases of at least
    ``MIN_KEY_LEN`` characters.
    """
    if not user:
        raise ValueError("SNMPv3 user must not be empty")
    if auth_protocol not in AUTH_PROTOCOLS:
        raise ValueError(f"unknown auth_protocol {auth_protocol!r}")
    if priv_protocol not in PRIV_PROTOCOLS:
        raise ValueError(f"unknown priv_protocol {priv_protocol!r}")
    if auth_protocol == "none" and priv_protocol != "none":
        raise ValueError("privacy needs authentication: set auth_protocol")
    if auth_protocol != "none" and len(auth_key) < MIN_KEY_LEN:
        raise ValueError(f"auth_key must have at least {MIN_KEY_LEN} characters")
    if priv_protocol != "none" and len(priv_key) < MIN_KEY_LEN:
        raise ValueError(f"priv_key must have at least {MIN_KEY_LEN} characters")
