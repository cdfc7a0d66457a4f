"""The rules every SNMP request path shares: how a subtree walk ends, what an error-status
becomes, and which USM credentials are usable. The clients that use them are tested against
real agents in tests/integration/test_snmp_client.py."""

from __future__ import annotations

import pytest

from probes.base import AuthError, MalformedReply, NoSuchObject, UnexpectedReply
from probes.snmp.codec import Tag, VarBind
from probes.snmp.errors import check_usm_credentials, status_error
from probes.snmp.v3 import SnmpV3Endpoint, V3TrapUser
from probes.snmp.walk import SubtreeWalk

IF_DESCR = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)


def descr(index: int, tag: int = Tag.OCTET_STRING) -> VarBind:
    return VarBind((*IF_DESCR, index), tag, b"eth" if tag == Tag.OCTET_STRING else None)


def test_walk_keeps_the_subtree_and_ends_at_the_first_varbind_outside_it() -> None:
    walk = SubtreeWalk(IF_DESCR)
    assert walk.take([descr(1), descr(2)]) is False
    assert walk.last == (*IF_DESCR, 2)
    outside = VarBind((1, 3, 6, 1, 2, 1, 2, 2, 1, 3, 1), Tag.INTEGER, 6)
    assert walk.take([descr(3), outside, descr(4)]) is True
    assert [vb.oid[-1] for vb in walk.varbinds] == [1, 2, 3]


def test_walk_ends_at_end_of_mib_view() -> None:
    walk = SubtreeWalk(IF_DESCR)
    assert walk.take([descr(1), descr(2, Tag.END_OF_MIB_VIEW)]) is True
    assert len(walk.varbinds) == 1


def test_agent_walking_backwards_is_malformed() -> None:
    walk = SubtreeWalk(IF_DESCR)
    walk.take([descr(5)])
    with pytest.raises(MalformedReply, match=r"non-increasing OID .*\.2\.2\.1\.2\.5 after"):
        walk.take([descr(5)])
    # Within one reply too, and the walk stays where it was last moved.
    with pytest.raises(MalformedReply, match=r"non-increasing OID .*\.2\.2\.1\.2\.6 after"):
        walk.take([descr(6), descr(6)])
    assert walk.last == (*IF_DESCR, 6)


@pytest.mark.parametrize(
    ("status", "index", "error", "text"),
    [
        (2, 2, NoSuchObject, "agent: noSuchName at 1.3.6.1.2.1.2.2.1.2.2"),
        (16, 1, AuthError, "agent: authorizationError"),
        (5, 1, UnexpectedReply, "agent: agent answered genErr at 1.3.6.1.2.1.2.2.1.2.1"),
        (5, 9, UnexpectedReply, "agent: agent answered genErr"),
        (42, 0, UnexpectedReply, "agent: agent answered error-status 42"),
    ],
)
def test_error_status_becomes_one_exception_naming_the_blamed_oid(
    status: int, index: int, error: type[Exception], text: str
) -> None:
    asked = [(*IF_DESCR, 1), (*IF_DESCR, 2)]
    got = status_error("agent", status, index, asked)
    assert type(got) is error
    assert str(got) == text


@pytest.mark.parametrize(
    ("credentials", "reason"),
    [
        (("", "sha", "k" * 8, "aes", "k" * 8), "SNMPv3 user must not be empty"),
        (("ops", "none", "", "aes", "k" * 8), "privacy needs authentication: set auth_protocol"),
        (("ops", "sha", "short", "none", ""), "auth_key must have at least 8 characters"),
        (("ops", "sha", "k" * 8, "aes", "short"), "priv_key must have at least 8 characters"),
        (("ops", "sha1", "k" * 8, "aes", "k" * 8), "unknown auth_protocol 'sha1'"),
    ],
)
def test_session_endpoints_and_trap_users_refuse_the_same_credentials(
    credentials: tuple[str, str, str, str, str], reason: str
) -> None:
    user, auth, auth_key, priv, priv_key = credentials
    with pytest.raises(ValueError, match=f"^{reason}$"):
        check_usm_credentials(user, auth, auth_key, priv, priv_key)
    with pytest.raises(ValueError, match=f"^{reason}$"):
        SnmpV3Endpoint(
            "127.0.0.1",
            user=user,
            auth_protocol=auth,  # type: ignore[arg-type]
            auth_key=auth_key,
            priv_protocol=priv,  # type: ignore[arg-type]
            priv_key=priv_key,
        )
    with pytest.raises(ValueError, match=f"^{reason}$"):
        V3TrapUser(
            user,
            auth_protocol=auth,  # type: ignore[arg-type]
            auth_key=auth_key,
            priv_protocol=priv,  # type: ignore[arg-type]
            priv_key=priv_key,
        )
