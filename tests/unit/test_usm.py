"""USM keys, digests and privacy (``usmcrypto``) and SNMPv3 message framing (``v3message``).

Keys: RFC 3414 A.3's published vectors for MD5 and SHA-1; for SHA-2 (RFC 7860) and the AES-192/256
key extension, pysnmp's own implementation as an independent oracle. Framing: round trips of
any message, and hypothesis fuzzing of the decoders and the digest check on a fixed budget (the
one-second deadline only guards against a hang), as in ``test_codec_fuzz``.
"""

from __future__ import annotations

import hashlib
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.snmp.codec import CodecError, Pdu, PduType, Tag, VarBind
from probes.snmp.usmcrypto import (
    AUTH_ALGORITHMS,
    UsmKeyring,
    UsmKeys,
    decrypt_scoped_pdu,
    encrypt_scoped_pdu,
    expand_pass_phrase,
    localize_key,
    privacy_key,
)
from probes.snmp.v3message import (
    FLAG_AUTH,
    FLAG_PRIV,
    FLAG_REPORTABLE,
    ScopedPdu,
    UsmMessage,
    UsmParameters,
    decode_scoped_pdu,
    decode_usm_message,
    encode_scoped_pdu,
    encode_usm_message,
)
from tests.unit.test_codec_fuzz import budget

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    # pysnmp's security modules import each other in a circle: its service module first.
    import pysnmp.proto.secmod.rfc3414.service  # noqa: F401
    from pyasn1.type import univ
    from pysnmp.proto.secmod.eso.priv import aes192, aes256
    from pysnmp.proto.secmod.rfc3414 import localkey
    from pysnmp.proto.secmod.rfc3414.auth import hmacmd5, hmacsha
    from pysnmp.proto.secmod.rfc7860.auth import hmacsha2

RFC_ENGINE = bytes.fromhex("000000000000000000000002")
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)


# --------------------------------------------------------------------------------------------
# Keys


@pytest.mark.parametrize(
    ("auth", "ku", "kul"),
    [
        # RFC 3414 A.3.1
        ("md5", "9faf3283884e92834ebc9847d8edd963", "526f5eed9fcce26f8964c2930787d82b"),
        # RFC 3414 A.3.2
        (
            "sha",
            "9fb5cc0381497b3793528939ff788d5d79145211",
            "6695febc9288e36282235fc7151f128497b38f3f",
        ),
    ],
)
def test_rfc3414_key_localization_vectors(auth: str, ku: str, kul: str) -> None:
    hash_name = AUTH_ALGORITHMS[auth].hash_name
    stretched = expand_pass_phrase(hash_name, b"maplesyrup")
    assert stretched.hex() == ku
    assert localize_key(hash_name, stretched, RFC_ENGINE).hex() == kul


PYSNMP_AUTH = {
    "md5": hmacmd5.HmacMd5.SERVICE_ID,
    "sha": hmacsha.HmacSha.SERVICE_ID,
    "sha224": hmacsha2.HmacSha2.SHA224_SERVICE_ID,
    "sha256": hmacsha2.HmacSha2.SHA256_SERVICE_ID,
    "sha384": hmacsha2.HmacSha2.SAH384_SERVICE_ID,  # sic: pysnmp 7.1 spells it so
    "sha512": hmacsha2.HmacSha2.SHA512_SERVICE_ID,
}


@pytest.mark.parametrize("auth", ["sha224", "sha256", "sha384", "sha512"])
def test_sha2_localized_keys_equal_pysnmps(auth: str) -> None:
    hash_name = AUTH_ALGORITHMS[auth].hash_name
    engine = bytes.fromhex("80001f8880e9630000d61ff449")
    ours = localize_key(hash_name, expand_pass_phrase(hash_name, b"maplesyrup"), engine)
    theirs = localkey.password_to_key(
        b"maplesyrup", univ.OctetString(engine), getattr(hashlib, hash_name)
    )
    assert len(ours) == hashlib.new(hash_name).digest_size
    assert ours == bytes(theirs)


@pytest.mark.parametrize("auth", list(PYSNMP_AUTH))
@pytest.mark.parametrize(("priv", "cipher"), [("aes192", aes192), ("aes256", aes256)])
def test_aes_192_256_key_extension_equals_pysnmps_blumenthal(
    auth: str, priv: str, cipher: object
) -> None:
    hash_name = AUTH_ALGORITHMS[auth].hash_name
    engine = RFC_ENGINE
    localized = localize_key(hash_name, expand_pass_phrase(hash_name, b"priv-pass-phrase"), engine)
    ours = privacy_key(hash_name, localized, priv)
    blumenthal = (
        cipher.AesBlumenthal192() if priv == "aes192" else cipher.AesBlumenthal256()  # type: ignore[attr-defined]
    )
    ku = localkey.hash_passphrase(b"priv-pass-phrase", getattr(hashlib, hash_name))
    theirs = blumenthal.localize_key(PYSNMP_AUTH[auth], ku, univ.OctetString(engine))
    assert ours == bytes(theirs)
    assert len(ours) == (24 if priv == "aes192" else 32)


def test_keyring_stretches_each_pass_phrase_once_and_localizes_per_engine() -> None:
    ring = UsmKeyring()
    a = ring.keys(b"engine-a", "sha256", "auth-pass-1", "aes", "priv-pass-1")
    assert ring.keys(b"engine-a", "sha256", "auth-pass-1", "aes", "priv-pass-1") is a
    b = ring.keys(b"engine-b", "sha256", "auth-pass-1", "aes", "priv-pass-1")
    assert a.auth_key != b.auth_key and a.priv_key != b.priv_key
    assert len(ring._ku) == 2  # one stretch per pass phrase, shared by both engines
    assert "auth-pass-1" not in repr(a) and a.auth_key.hex() not in repr(a)


# --------------------------------------------------------------------------------------------
# Digests and privacy


def keys(auth: str = "sha", priv: str = "aes") -> UsmKeys:
    return UsmKeyring().keys(b"\x80\x00\x1f\x88\x04engine", auth, "auth-pass", priv, "priv-pass")


@pytest.mark.parametrize(
    ("auth", "length"),
    [("md5", 12), ("sha", 12), ("sha224", 16), ("sha256", 24), ("sha384", 32), ("sha512", 48)],
)
def test_digest_lengths_and_a_changed_octet_fails_verification(auth: str, length: int) -> None:
    k = keys(auth, "none")
    message = bytes(range(200))
    digest = k.sign(message)
    assert len(digest) == k.digest_length == length
    assert k.verify(message, digest)
    assert not k.verify(message[:-1] + b"\xff", digest)
    assert not k.verify(message, digest[:-1])


@pytest.mark.parametrize("priv", ["des", "aes", "aes192", "aes256"])
def test_privacy_round_trip_and_des_padding(priv: str) -> None:
    k = keys("sha", priv)
    plain = encode_scoped_pdu(ScopedPdu(b"engine", b"", Pdu(PduType.GET, 7, 0, 0, [])))
    cipher, params = encrypt_scoped_pdu(k, plain, 3, 1000, 0x1122334455667788)
    assert len(params) == 8 and cipher != plain
    back = decrypt_scoped_pdu(k, cipher, 3, 1000, params)
    if priv == "des":
        assert len(cipher) % 8 == 0 and back[: len(plain)] == plain
        assert decode_scoped_pdu(back, padded=True).pdu.request_id == 7
    else:
        assert back == plain


def test_des_ciphertext_of_broken_blocks_is_a_codec_error() -> None:
    with pytest.raises(CodecError, match="whole number of blocks"):
        decrypt_scoped_pdu(keys("md5", "des"), b"1234567", 0, 0, bytes(8))
    with pytest.raises(CodecError, match="not 8"):
        decrypt_scoped_pdu(keys("md5", "aes"), b"12345678", 0, 0, bytes(4))


# --------------------------------------------------------------------------------------------
# Framing

varbinds = st.lists(
    st.builds(
        VarBind,
        st.lists(st.integers(0, 2**32 - 1), max_size=8).map(lambda rest: (1, 3, *rest)),
        st.just(int(Tag.OCTET_STRING)),
        st.binary(max_size=40),
    ),
    max_size=6,
)
pdus = st.builds(
    Pdu,
    st.sampled_from([t for t in PduType if t != PduType.TRAP_V1]),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(0, 18),
    st.integers(0, 200),
    varbinds,
)
usm_parameters = st.builds(
    UsmParameters,
    st.binary(max_size=32),
    st.integers(0, 2**31 - 1),
    st.integers(0, 2**31 - 1),
    st.binary(max_size=32),
    st.binary(max_size=48),
    st.binary(max_size=8),
)


@budget(150)
@given(
    msg_id=st.integers(0, 2**31 - 1),
    max_size=st.integers(484, 2**31 - 1),
    flags=st.sampled_from([0, FLAG_AUTH, FLAG_AUTH | FLAG_PRIV]).map(lambda f: f | FLAG_REPORTABLE),
    usm=usm_parameters,
    scoped=st.builds(ScopedPdu, st.binary(max_size=32), st.binary(max_size=32), pdus),
)
def test_messages_round_trip(
    msg_id: int, max_size: int, flags: int, usm: UsmParameters, scoped: ScopedPdu
) -> None:
    data = encode_scoped_pdu(scoped)
    if flags & FLAG_PRIV:
        data = b"ciphertext:" + data
    encoded = encode_usm_message(UsmMessage(msg_id, max_size, flags, usm, data))
    decoded = decode_usm_message(encoded.data)
    # The encoder hands back the datagram as its data, the decoder the message's data.
    assert decoded == UsmMessage(msg_id, max_size, flags, usm, data, encoded.auth_at)
    assert encoded.data[encoded.auth_at : encoded.auth_at + len(usm.auth)] == usm.auth
    if not flags & FLAG_PRIV:
        assert decode_scoped_pdu(decoded.data) == scoped


def signed_response(k: UsmKeys, request_id: int = 5) -> bytes:
    pdu = Pdu(PduType.RESPONSE, request_id, 0, 0, [VarBind(SYS_NAME, Tag.OCTET_STRING, b"tw")])
    plain = encode_scoped_pdu(ScopedPdu(b"\x80\x00\x1f\x88\x04engine", b"", pdu))
    cipher, salt = encrypt_scoped_pdu(k, plain, 1, 50, 9)
    usm = UsmParameters(b"\x80\x00\x1f\x88\x04engine", 1, 50, b"user", bytes(k.digest_length), salt)
    encoded = encode_usm_message(UsmMessage(1, 65507, FLAG_AUTH | FLAG_PRIV, usm, cipher))
    at = encoded.auth_at
    return encoded.data[:at] + k.sign(encoded.data) + encoded.data[at + k.digest_length :]


def zeroed(message: UsmMessage, datagram: bytes) -> bytes:
    at, n = message.auth_at, len(message.usm.auth)
    return datagram[:at] + bytes(n) + datagram[at + n :]


def test_a_signed_message_verifies_over_the_bytes_received() -> None:
    k = keys("sha512", "aes256")
    datagram = signed_response(k)
    message = decode_usm_message(datagram)
    assert k.verify(zeroed(message, datagram), message.usm.auth)
    plain = decrypt_scoped_pdu(k, message.data, 1, 50, message.usm.priv)
    assert decode_scoped_pdu(plain).pdu.varbinds[0].value == b"tw"


@budget(300)
@given(st.binary(max_size=400))
def test_any_bytes_decode_or_fail_with_codec_error(raw: bytes) -> None:
    for decode in (decode_usm_message, decode_scoped_pdu):
        try:
            decode(raw)
        except CodecError:
            pass


@budget(300)
@given(st.data())
def test_a_mutated_signed_message_never_verifies_and_never_raises_otherwise(
    data: st.DataObject,
) -> None:
    k = keys("sha256", "aes")
    original = signed_response(k)
    raw = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["set", "insert", "delete"]))
        if action == "set":
            raw[where] = data.draw(st.integers(0, 255))
        elif action == "insert":
            raw.insert(where, data.draw(st.integers(0, 255)))
        else:
            del raw[where]
    mutated = bytes(raw)
    try:
        message = decode_usm_message(mutated)
    except CodecError:
        return
    if k.verify(zeroed(message, mutated), message.usm.auth):
        assert mutated == original
        return
    # What a client would do next with a message it cannot authenticate is drop it; reading
    # its ciphertext anyway must still end in a CodecError at worst.
    try:
        plain = decrypt_scoped_pdu(
            k, message.data, message.usm.boots, message.usm.time, message.usm.priv
        )
        decode_scoped_pdu(plain)
    except CodecError:
        pass
