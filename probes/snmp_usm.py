"""The SNMPv3 USM protocol names as configuration fields: every spelling net-snmp accepts
(``SHA-256``, ``SHA1``, ``AES-128``, ``NOPRIV`` …), in any case, folded to ours.

Apart from ``probes.snmp`` so that validating a configuration never loads pysnmp; the names
repeat ``probes.snmp``'s ``AuthProtocol`` and ``PrivProtocol`` for the same reason.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

__all__ = ["AuthProtocolName", "PrivProtocolName", "usm_protocol"]

AuthProtocolLiteral = Literal["none", "md5", "sha", "sha224", "sha256", "sha384", "sha512"]
PrivProtocolLiteral = Literal["none", "des", "aes", "aes192", "aes256"]

# Every spelling net-snmp accepts (snmpcmd -a/-x, snmpd's createUser), folded by _fold, to ours.
_USM_AUTH_SPELLINGS: Final[dict[str, str]] = {
    "none": "none",
    "noauth": "none",
    "md5": "md5",
    "sha": "sha",
    "sha1": "sha",
    "sha224": "sha224",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
}
_USM_PRIV_SPELLINGS: Final[dict[str, str]] = {
    "none": "none",
    "nopriv": "none",
    "des": "des",
    "aes": "aes",
    "aes128": "aes",
    "aes192": "aes192",
    "aes256": "aes256",
}
_USM_ACCEPTED: Final = {
    "auth": "MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512 or none",
    "priv": "DES, AES, AES-192, AES-256 or none",
}


def _fold(text: str) -> str:
    return text.strip().casefold().replace("-", "").replace("_", "")


def usm_protocol(kind: Literal["auth", "priv"], value: object) -> str:
    """Our name for an SNMPv3 USM protocol however net-snmp spells it, in any case:
    ``SHA-256``/``SHA256`` → ``sha256``, ``SHA1`` → ``sha``, ``AES``/``AES-128`` → ``aes``,
    ``AES-256`` → ``aes256``, ``NOPRIV`` → ``none``.

    ValueError lists the accepted names; the value itself is not repeated, in case a key
    was typed where the protocol belongs.
    """
    table = _USM_AUTH_SPELLINGS if kind == "auth" else _USM_PRIV_SPELLINGS
    folded = _fold(value) if isinstance(value, str) else ""
    if folded in table:
        return table[folded]
    if kind == "priv" and folded in ("aes192c", "aes256c"):
        raise ValueError(
            "Cisco's AES-192-C/AES-256-C key extension is not supported; use AES-192 or AES-256"
        )
    raise ValueError(f"unknown {kind} protocol; use one of {_USM_ACCEPTED[kind]}")


def _usm_validator(kind: Literal["auth", "priv"]) -> Any:
    def check(value: object) -> str:
        try:
            return usm_protocol(kind, value)
        except ValueError as exc:  # without pydantic's "Value error, " prefix
            raise PydanticCustomError("usm_protocol", str(exc)) from None

    return BeforeValidator(check)


#: The USM protocols as configuration fields: net-snmp's spellings accepted, ours kept.
AuthProtocolName = Annotated[AuthProtocolLiteral, _usm_validator("auth")]
PrivProtocolName = Annotated[PrivProtocolLiteral, _usm_validator("priv")]
