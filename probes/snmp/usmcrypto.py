"""USM's cryptography: pass phrases to localized keys, message digests, and privacy.

Keys (RFC 3414 §2.6 and A.2, RFC 7860 §9 for SHA-2): a pass phrase is stretched to 1 MB and
hashed (``Ku``), then localized to one agent's engine ID as ``H(Ku || engineID || Ku)``. The
stretch costs about a millisecond; ``UsmKeyring`` keeps each ``Ku`` and each localized pair, so
it runs once per pass phrase and the localization once per (engine, user).

Digests: HMAC of the whole message with its authentication parameters zeroed, truncated to 12
octets for MD5 and SHA-1 (RFC 3414 §6, §7), 16/24/32/48 for SHA-224/256/384/512 (RFC 7860 §4).

Privacy, with the privacy key localized by the authentication hash:

- DES-CBC (RFC 3414 §8): key = the first 8 octets, pre-IV the next 8; the salt is the engine
  boots and a counter; the plaintext is padded to a multiple of 8 octets.
- AES-CFB128 (RFC 3826): key = the first 16 octets; IV = boots, time and a 64-bit salt.
- AES-192/256: the same with 24/32 octets, the localized key extended when the hash is shorter
  the way net-snmp's ``AES-192``/``AES-256`` do it (draft-blumenthal-aes-usm-04 §3.1.2.1:
  append ``H(key so far)`` until long enough). Cisco's ``AES-192-C``/``AES-256-C`` (the Reeder
  draft) extend differently and are not offered.

Nothing here logs, and no exception carries key material.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Final

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from probes.snmp.codec import CodecError

__all__ = [
    "AUTH_ALGORITHMS",
    "PRIV_KEY_SIZES",
    "AuthAlgorithm",
    "UsmKeyring",
    "UsmKeys",
    "decrypt_scoped_pdu",
    "encrypt_scoped_pdu",
    "expand_pass_phrase",
    "localize_key",
    "privacy_key",
]


@dataclass(frozen=True, slots=True)
class AuthAlgorithm:
    """One USM authentication protocol: its hash (a hashlib name) and digest length on the wire."""

    hash_name: str
    truncation: int


AUTH_ALGORITHMS: Final[dict[str, AuthAlgorithm]] = {
    "md5": AuthAlgorithm("md5", 12),
    "sha": AuthAlgorithm("sha1", 12),
    "sha224": AuthAlgorithm("sha224", 16),
    "sha256": AuthAlgorithm("sha256", 24),
    "sha384": AuthAlgorithm("sha384", 32),
    "sha512": AuthAlgorithm("sha512", 48),
}
#: Octets of key material each privacy protocol takes from the localized privacy key (DES: key
#: and pre-IV).
PRIV_KEY_SIZES: Final[dict[str, int]] = {"des": 16, "aes": 16, "aes192": 24, "aes256": 32}

_STRETCH: Final = 1_048_576  # RFC 3414 A.2: the pass phrase repeated over 1 MB


def expand_pass_phrase(hash_name: str, pass_phrase: bytes) -> bytes:
    """``Ku``: the digest of ``pass_phrase`` repeated over 1 MB (RFC 3414 A.2.1/A.2.2)."""
    if not pass_phrase:
        raise ValueError("a USM pass phrase must not be empty")
    repeated = pass_phrase * (_STRETCH // len(pass_phrase) + 1)
    return hashlib.new(hash_name, memoryview(repeated)[:_STRETCH]).digest()


def localize_key(hash_name: str, ku: bytes, engine_id: bytes) -> bytes:
    """``Kul``: ``Ku`` bound to one authoritative engine, ``H(Ku || engineID || Ku)``."""
    return hashlib.new(hash_name, ku + engine_id + ku).digest()


def privacy_key(hash_name: str, localized: bytes, priv_protocol: str) -> bytes:
    """The key material a privacy protocol uses: the localized privacy key, extended by
    draft-blumenthal-aes-usm-04 when the hash is shorter than the cipher needs."""
    size = PRIV_KEY_SIZES[priv_protocol]
    key = localized
    while len(key) < size:
        key += hashlib.new(hash_name, key).digest()
    return key[:size]


@dataclass(frozen=True, slots=True)
class UsmKeys:
    """One user's keys localized to one engine; key octets never appear in a repr."""

    auth_protocol: str
    priv_protocol: str
    auth_key: bytes = field(repr=False)
    priv_key: bytes = field(repr=False)

    @property
    def digest_length(self) -> int:
        """Octets of msgAuthenticationParameters (0 without authentication)."""
        algorithm = AUTH_ALGORITHMS.get(self.auth_protocol)
        return algorithm.truncation if algorithm is not None else 0

    def sign(self, whole_message: bytes) -> bytes:
        """The truncated HMAC of a message whose authentication parameters are zeros."""
        algorithm = AUTH_ALGORITHMS[self.auth_protocol]
        return hmac.digest(self.auth_key, whole_message, algorithm.hash_name)[
            : algorithm.truncation
        ]

    def verify(self, zeroed_message: bytes, digest: bytes) -> bool:
        """Whether ``digest`` authenticates the message (constant-time comparison)."""
        if len(digest) != self.digest_length:
            return False
        return hmac.compare_digest(self.sign(zeroed_message), digest)


class UsmKeyring:
    """Localized keys per (engine ID, credentials), with each pass phrase stretched once.

    Bounded: past ``max_entries`` a table is simply emptied and refilled on demand (a poller
    has a few thousand agents at most; each refill costs a millisecond per pass phrase).
    """

    def __init__(self, max_entries: int = 16384) -> None:
        self._max = max_entries
        self._ku: dict[tuple[str, bytes], bytes] = {}
        self._localized: dict[tuple[bytes, str, str, str, str], UsmKeys] = {}

    def keys(
        self,
        engine_id: bytes,
        auth_protocol: str,
        auth_pass: str,
        priv_protocol: str,
        priv_pass: str,
    ) -> UsmKeys:
        """The keys of these credentials at ``engine_id`` (``none`` protocols give no key)."""
        index = (engine_id, auth_protocol, auth_pass, priv_protocol, priv_pass)
        found = self._localized.get(index)
        if found is not None:
            return found
        auth_key = priv_key = b""
        if auth_protocol != "none":
            hash_name = AUTH_ALGORITHMS[auth_protocol].hash_name
            auth_key = localize_key(hash_name, self._stretched(hash_name, auth_pass), engine_id)
            if priv_protocol != "none":
                localized = localize_key(
                    hash_name, self._stretched(hash_name, priv_pass), engine_id
                )
                priv_key = privacy_key(hash_name, localized, priv_protocol)
        keys = UsmKeys(auth_protocol, priv_protocol, auth_key, priv_key)
        if len(self._localized) >= self._max:
            self._localized.clear()
        self._localized[index] = keys
        return keys

    def _stretched(self, hash_name: str, pass_phrase: str) -> bytes:
        index = (hash_name, pass_phrase.encode())
        ku = self._ku.get(index)
        if ku is None:
            ku = expand_pass_phrase(hash_name, index[1])
            if len(self._ku) >= self._max:
                self._ku.clear()
            self._ku[index] = ku
        return ku


# ---------------------------------------------------------------------------------------------
# Privacy


def _des(key: bytes, iv: bytes) -> Cipher[modes.CBC]:
    # Single DES is TripleDES with one key three times (encrypt, decrypt, encrypt with the
    # same key); cryptography keeps DES only among its "decrepit" algorithms.
    return Cipher(TripleDES(key * 3), modes.CBC(iv))


def _aes(keys: UsmKeys, boots: int, time: int, salt: bytes) -> Cipher[CFB]:
    # cryptography 47 moved CFB among the "decrepit" modes, beside DES.
    iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + salt
    return Cipher(algorithms.AES(keys.priv_key), CFB(iv))


def encrypt_scoped_pdu(
    keys: UsmKeys, plaintext: bytes, boots: int, time: int, salt: int
) -> tuple[bytes, bytes]:
    """Encrypt a scoped PDU: (encryptedPDU content, msgPrivacyParameters).

    ``salt`` is a counter of the sender's, never repeated under one key: 32 bits of it for
    DES (after the engine boots, RFC 3414 §8.1.1.1), 64 for AES (RFC 3826 §3.1.2.1).
    """
    if keys.priv_protocol == "des":
        params = boots.to_bytes(4, "big") + (salt & 0xFFFFFFFF).to_bytes(4, "big")
        iv = bytes(a ^ b for a, b in zip(keys.priv_key[8:16], params, strict=True))
        padded = plaintext + bytes(-len(plaintext) % 8)
        encryptor = _des(keys.priv_key[:8], iv).encryptor()
        return encryptor.update(padded) + encryptor.finalize(), params
    params = (salt & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    encryptor = _aes(keys, boots, time, params).encryptor()
    return encryptor.update(plaintext) + encryptor.finalize(), params


def decrypt_scoped_pdu(
    keys: UsmKeys, ciphertext: bytes, boots: int, time: int, params: bytes
) -> bytes:
    """Decrypt an encryptedPDU; ``CodecError`` when its framing cannot be right (the privacy
    parameters are not 8 octets, or DES ciphertext is not whole blocks). DES plaintext keeps
    its padding: the scoped PDU's own length says where it ends."""
    if len(params) != 8:
        raise CodecError(f"msgPrivacyParameters of {len(params)} octets, not 8")
    if keys.priv_protocol == "des":
        if len(ciphertext) % 8:
            raise CodecError("DES ciphertext is not a whole number of blocks")
        iv = bytes(a ^ b for a, b in zip(keys.priv_key[8:16], params, strict=True))
        decryptor = _des(keys.priv_key[:8], iv).decryptor()
    else:
        decryptor = _aes(keys, boots, time, params).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()
