"""SNMPv3 messages with USM security parameters, to and from bytes, without keys.

The framing of RFC 3412 §6 (msgVersion 3; msgGlobalData: msgID, msgMaxSize, msgFlags,
msgSecurityModel) around the USM parameters of RFC 3414 §2.4 (engine ID, boots, time, user
name, authentication and privacy parameters) and the message data: a plaintext ScopedPDU
(contextEngineID, contextName, PDU) or an encryptedPDU, an OCTET STRING. What the keys do
(digests, encryption) is ``probes.snmp.usmcrypto``'s; the PDU inside is ``probes.snmp.codec``'s.

Decoding is bounded like the v1/v2c codec's: one pass with ``probes.snmp.ber``'s readers,
every field held to its RFC range, and any malformed input a ``CodecError``. A decoded message
records where its authentication parameters lie, so the digest can be checked over the very
bytes received with those octets zeroed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from probes.snmp.ber import (
    INT32_MAX,
    CodecError,
    encode_integer,
    read_int32,
    read_tlv,
    tlv,
)
from probes.snmp.codec import VERSION_V3, Pdu, decode_pdu, encode_pdu

__all__ = [
    "FLAG_AUTH",
    "FLAG_PRIV",
    "FLAG_REPORTABLE",
    "MAX_CONTEXT_NAME",
    "MAX_ENGINE_ID",
    "MAX_USER_NAME",
    "USM_SECURITY_MODEL",
    "ScopedPdu",
    "UsmMessage",
    "UsmParameters",
    "decode_scoped_pdu",
    "decode_usm_message",
    "encode_scoped_pdu",
    "encode_usm_message",
]

FLAG_AUTH: Final = 0x01
FLAG_PRIV: Final = 0x02
FLAG_REPORTABLE: Final = 0x04
#: msgSecurityModel of the User-based Security Model (RFC 3411 §5).
USM_SECURITY_MODEL: Final = 3
#: RFC 3411 §5: an snmpEngineID has 5 to 32 octets (empty only in discovery).
MAX_ENGINE_ID: Final = 32
#: RFC 3414 §2.4: msgUserName is at most 32 octets.
MAX_USER_NAME: Final = 32
#: RFC 3411 §5: a contextName is an SnmpAdminString of at most 32 octets.
MAX_CONTEXT_NAME: Final = 32
#: RFC 3412 §6: msgMaxSize is 484 .. 2^31-1.
_MIN_MAX_SIZE: Final = 484
#: Longest authentication parameters (SHA-512, RFC 7860) and privacy parameters (RFC 3826).
_MAX_AUTH_PARAMS: Final = 48
_MAX_PRIV_PARAMS: Final = 8


@dataclass(frozen=True, slots=True)
class UsmParameters:
    """UsmSecurityParameters (RFC 3414 §2.4). ``auth`` is the digest as sent (zeros while a
    message is being signed); ``priv`` the salt of an encrypted message."""

    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth: bytes = field(default=b"", repr=False)
    priv: bytes = b""


@dataclass(frozen=True, slots=True)
class UsmMessage:
    """One SNMPv3 message with USM parameters.

    ``data`` is the encoded plaintext ScopedPDU, or the ciphertext when ``FLAG_PRIV`` is set.
    ``auth_at`` is the offset of the authentication parameters' octets in the datagram the
    message was decoded from (or encoded to).
    """

    msg_id: int
    max_size: int
    flags: int
    usm: UsmParameters
    data: bytes = field(repr=False)
    auth_at: int = 0


@dataclass(frozen=True, slots=True)
class ScopedPdu:
    """A ScopedPDU (RFC 3412 §6): the context the PDU applies to, and the PDU."""

    context_engine_id: bytes
    context_name: bytes
    pdu: Pdu


def _octets(data: bytes, pos: int, limit: int, what: str, most: int) -> tuple[bytes, int]:
    start, end = read_tlv(data, pos, limit, 0x04, what)
    if end - start > most:
        raise CodecError(f"{what} of {end - start} octets, more than {most}")
    return data[start:end], end


def _non_negative(data: bytes, pos: int, limit: int, what: str) -> tuple[int, int]:
    start, end = read_tlv(data, pos, limit, 0x02, what)
    value = read_int32(data, start, end, what)
    if value < 0:
        raise CodecError(f"{what} {value} is negative")
    return value, end


# ---------------------------------------------------------------------------------------------
# Encoding


def encode_scoped_pdu(scoped: ScopedPdu) -> bytes:
    """The ScopedPDU element: what is sent in clear or encrypted."""
    return tlv(
        0x30,
        tlv(0x04, scoped.context_engine_id)
        + tlv(0x04, scoped.context_name)
        + encode_pdu(scoped.pdu),
    )


def encode_usm_message(message: UsmMessage) -> UsmMessage:
    """Encode ``message``; the result's ``data`` is the datagram and ``auth_at`` the offset
    of the authentication parameters in it, for the digest to be written over them."""
    usm = message.usm
    if not 0 <= message.msg_id <= INT32_MAX:
        raise CodecError(f"msgID {message.msg_id} outside 0..{INT32_MAX}")
    if len(usm.engine_id) > MAX_ENGINE_ID or len(usm.user) > MAX_USER_NAME:
        raise CodecError("engine ID or user name too long for USM")
    if len(usm.auth) > _MAX_AUTH_PARAMS or len(usm.priv) > _MAX_PRIV_PARAMS:
        raise CodecError("USM authentication or privacy parameters too long")
    global_data = tlv(
        0x30,
        encode_integer(0x02, message.msg_id, 0, INT32_MAX, "msgID")
        + encode_integer(0x02, message.max_size, _MIN_MAX_SIZE, INT32_MAX, "msgMaxSize")
        + tlv(0x04, bytes((message.flags,)))
        + tlv(0x02, bytes((USM_SECURITY_MODEL,))),
    )
    head = (
        tlv(0x04, usm.engine_id)
        + encode_integer(0x02, usm.boots, 0, INT32_MAX, "msgAuthoritativeEngineBoots")
        + encode_integer(0x02, usm.time, 0, INT32_MAX, "msgAuthoritativeEngineTime")
        + tlv(0x04, usm.user)
    )
    # Everything after the authentication parameters' octets; their own tag and length take
    # two octets (at most 48 of them).
    tail = tlv(0x04, usm.priv)
    security = tlv(0x30, head + tlv(0x04, usm.auth) + tail)
    data = tlv(0x04, message.data) if message.flags & FLAG_PRIV else message.data
    security_field = tlv(0x04, security)
    body = bytes((0x02, 0x01, VERSION_V3)) + global_data + security_field + data
    datagram = tlv(0x30, body)
    # The parameters' octets end where the privacy parameters and the message data begin.
    auth_at = len(datagram) - len(data) - len(tail) - len(usm.auth)
    return UsmMessage(message.msg_id, message.max_size, message.flags, usm, datagram, auth_at)


# ---------------------------------------------------------------------------------------------
# Decoding


def decode_usm_message(datagram: bytes) -> UsmMessage:
    """Decode one datagram as an SNMPv3 USM message, its data left as the bytes of the
    plaintext ScopedPDU element or the ciphertext. ``CodecError`` says why it is not one."""
    buf = datagram if type(datagram) is bytes else bytes(datagram)
    try:
        start, end = read_tlv(buf, 0, len(buf), 0x30, "message")
        if end != len(buf):
            raise CodecError(f"{len(buf) - end} octets of trailing garbage after the message")
        pos, stop = read_tlv(buf, start, end, 0x02, "msgVersion")
        if read_int32(buf, pos, stop, "msgVersion") != VERSION_V3:
            raise CodecError("not an SNMPv3 message")
        gstart, gend = read_tlv(buf, stop, end, 0x30, "msgGlobalData")
        msg_id, pos = _non_negative(buf, gstart, gend, "msgID")
        max_size, pos = _non_negative(buf, pos, gend, "msgMaxSize")
        if max_size < _MIN_MAX_SIZE:
            raise CodecError(f"msgMaxSize {max_size} below {_MIN_MAX_SIZE}")
        flag_octets, pos = _octets(buf, pos, gend, "msgFlags", 1)
        if len(flag_octets) != 1:
            raise CodecError("msgFlags is empty")
        flags = flag_octets[0]
        if flags & FLAG_PRIV and not flags & FLAG_AUTH:
            raise CodecError("msgFlags ask for privacy without authentication")
        model, pos = _non_negative(buf, pos, gend, "msgSecurityModel")
        if pos != gend:
            raise CodecError("msgSecurityModel does not end msgGlobalData")
        if model != USM_SECURITY_MODEL:
            raise CodecError(f"msgSecurityModel {model} is not USM")
        sstart, send = read_tlv(buf, gend, end, 0x04, "msgSecurityParameters")
        pos, stop = read_tlv(buf, sstart, send, 0x30, "UsmSecurityParameters")
        if stop != send:
            raise CodecError("UsmSecurityParameters do not fill msgSecurityParameters")
        engine_id, pos = _octets(buf, pos, stop, "msgAuthoritativeEngineID", MAX_ENGINE_ID)
        boots, pos = _non_negative(buf, pos, stop, "msgAuthoritativeEngineBoots")
        time, pos = _non_negative(buf, pos, stop, "msgAuthoritativeEngineTime")
        user, pos = _octets(buf, pos, stop, "msgUserName", MAX_USER_NAME)
        auth_at, auth_end = read_tlv(buf, pos, stop, 0x04, "msgAuthenticationParameters")
        if auth_end - auth_at > _MAX_AUTH_PARAMS:
            raise CodecError(f"msgAuthenticationParameters of {auth_end - auth_at} octets")
        priv, pos = _octets(buf, auth_end, stop, "msgPrivacyParameters", _MAX_PRIV_PARAMS)
        if pos != stop:
            raise CodecError("msgPrivacyParameters do not end UsmSecurityParameters")
        if flags & FLAG_PRIV:
            dstart, dend = read_tlv(buf, send, end, 0x04, "encryptedPDU")
            data = buf[dstart:dend]
        else:
            _, dend = read_tlv(buf, send, end, 0x30, "scopedPDU")
            data = buf[send:dend]
        if dend != end:
            raise CodecError("msgData does not end the message")
    except IndexError:
        raise CodecError("truncated SNMPv3 message") from None
    usm = UsmParameters(engine_id, boots, time, user, buf[auth_at:auth_end], priv)
    return UsmMessage(msg_id, max_size, flags, usm, data, auth_at)


def decode_scoped_pdu(data: bytes, *, padded: bool = False) -> ScopedPdu:
    """Decode a ScopedPDU element. ``padded``: octets after it are cipher padding (DES) and
    ignored; otherwise the element must fill ``data``."""
    try:
        start, end = read_tlv(data, 0, len(data), 0x30, "scopedPDU")
        # DES pads to whole 8-octet blocks; anything longer is not padding.
        if end != len(data) and (not padded or len(data) - end >= 8):
            raise CodecError(f"{len(data) - end} octets after the scoped PDU")
        context_engine_id, pos = _octets(data, start, end, "contextEngineID", MAX_ENGINE_ID)
        context_name, pos = _octets(data, pos, end, "contextName", MAX_CONTEXT_NAME)
        pdu = decode_pdu(data, pos, end)
    except IndexError:
        raise CodecError("truncated scoped PDU") from None
    return ScopedPdu(context_engine_id, context_name, pdu)
