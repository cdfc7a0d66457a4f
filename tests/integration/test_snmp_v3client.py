"""SnmpV3Client against a real net-snmp snmpd: every USM security level and protocol pair.

One agent holds a user for every auth × priv pair net-snmp supports (``V3_MATRIX``); what our
client reads with each must equal what net-snmp's own ``snmpget``/``snmpbulkwalk`` read as the
same user (the keys, digests and ciphers are net-snmp's on both ends of that comparison). Wrong
keys, unknown users and levels the user lacks must fail with the right ``probes.base`` error and
never show a key; an agent restarted at the same address (its boots grown) is re-synchronised.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import cast

import pytest

from probes.base import AuthError, ProbeTimeout
from probes.snmp.codec import OID, format_oid, parse_oid
from probes.snmp.usm import AuthProtocol, PrivProtocol, usm_protocol
from probes.snmp.v3 import PysnmpSession
from probes.snmp.v3client import SnmpV3Client, SnmpV3Endpoint
from tests.integration.snmpd import (
    ALL_V3_USERS,
    V3_MATRIX,
    SnmpdInstance,
    V3User,
    start_snmpd,
)
from tests.integration.test_snmp_client import RAW, assert_same_varbinds, parse_netsnmp

pytestmark = pytest.mark.integration

SYS_STATIC = [parse_oid(f"1.3.6.1.2.1.1.{n}.0") for n in (1, 2, 4, 5, 6, 7, 8)]
SYS_NAME = parse_oid("1.3.6.1.2.1.1.5.0")
IF_TABLE = parse_oid("1.3.6.1.2.1.2.2")
IF_DESCR = parse_oid("1.3.6.1.2.1.2.2.1.2")
IF_TYPE = parse_oid("1.3.6.1.2.1.2.2.1.3")
IF_MTU = parse_oid("1.3.6.1.2.1.2.2.1.4")


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpdInstance]:
    """One snmpd with every user of the matrix (31 users, started once for the module)."""
    with start_snmpd(tmp_path_factory.mktemp("snmpd-v3"), v3_users=ALL_V3_USERS) as instance:
        yield instance


@pytest.fixture
async def client() -> AsyncIterator[SnmpV3Client]:
    async with SnmpV3Client() as snmp:
        yield snmp


def endpoint(agent: SnmpdInstance, account: V3User, **changes: str) -> SnmpV3Endpoint:
    """An endpoint with ``account``'s credentials, some of them replaced by ``changes``."""
    options: dict[str, str] = {
        "user": account.name,
        "auth_protocol": usm_protocol("auth", account.auth_protocol),
        "auth_key": account.auth_key,
        "priv_protocol": usm_protocol("priv", account.priv_protocol),
        "priv_key": account.priv_key,
    }
    options.update(changes)
    return SnmpV3Endpoint(
        agent.host,
        agent.port,
        user=options["user"],
        auth_protocol=cast(AuthProtocol, options["auth_protocol"]),
        auth_key=options["auth_key"],
        priv_protocol=cast(PrivProtocol, options["priv_protocol"]),
        priv_key=options["priv_key"],
        timeout=1.0,
        retries=0,
    )


def user_named(name: str) -> V3User:
    return next(user for user in V3_MATRIX if user.name == name)


def tool(
    agent: SnmpdInstance, user: V3User, name: str, *operands: str, extra: tuple[str, ...] = ()
) -> str:
    return agent.run_tool(name, *operands, options=[*user.cli_args(), *RAW, *extra])


@pytest.mark.parametrize(
    "user", V3_MATRIX, ids=lambda user: f"{user.auth_protocol}/{user.priv_protocol}"
)
async def test_get_and_bulk_walk_equal_net_snmp_for_every_auth_and_priv(
    client: SnmpV3Client, agent: SnmpdInstance, user: V3User
) -> None:
    ep = endpoint(agent, user)
    got = await client.get(ep, SYS_STATIC)
    assert got == parse_netsnmp(tool(agent, user, "snmpget", *map(format_oid, SYS_STATIC)))
    assert got[3].value == b"tw-snmpd"
    # Few repetitions, so the walk takes several GETBULKs.
    walked = await client.walk(ep, IF_TABLE, max_repetitions=7)
    theirs = parse_netsnmp(tool(agent, user, "snmpbulkwalk", format_oid(IF_TABLE)))
    assert len(walked) > 14
    assert_same_varbinds(walked, theirs)


async def test_multi_column_getbulk_equals_snmpbulkget(
    client: SnmpV3Client, agent: SnmpdInstance
) -> None:
    user = user_named("tw-m-sha256aes192")
    columns: list[OID] = [IF_DESCR, IF_TYPE, IF_MTU]
    ours = await client.bulk(endpoint(agent, user), columns, 4)
    theirs = parse_netsnmp(
        tool(agent, user, "snmpbulkget", *map(format_oid, columns), extra=("-Cn0", "-Cr4"))
    )
    assert len(ours) == len(theirs) > 3
    assert ours == theirs
    # Row-major, as RFC 3416 §4.2.3 lays a GETBULK reply out.
    assert [vb.oid[:-1] for vb in ours[:3]] == columns


@pytest.mark.parametrize("name", ["tw-m-md5des", "tw-m-sha512aes256"])
async def test_wrong_auth_key_is_a_wrong_digest_auth_error_without_the_key(
    client: SnmpV3Client, agent: SnmpdInstance, name: str
) -> None:
    user = user_named(name)
    wrong = "definitely-wrong-auth-key"
    with pytest.raises(AuthError, match="wrong digest") as caught:
        await client.get(endpoint(agent, user, auth_key=wrong), [SYS_NAME])
    for secret in (wrong, user.auth_key, user.priv_key):
        assert secret not in str(caught.value)
    # The right key works on the same client afterwards.
    assert (await client.get(endpoint(agent, user), [SYS_NAME]))[0].value == b"tw-snmpd"


@pytest.mark.parametrize("name", ["tw-m-sha224des", "tw-m-shaaes"])
async def test_wrong_priv_key_times_out_without_the_key(
    client: SnmpV3Client, agent: SnmpdInstance, name: str
) -> None:
    # net-snmp cannot decrypt the request and drops it without a report.
    user = user_named(name)
    wrong = "definitely-wrong-priv-key"
    with pytest.raises(ProbeTimeout, match="wrong priv key also looks like this") as caught:
        await client.get(endpoint(agent, user, priv_key=wrong), [SYS_NAME])
    assert wrong not in str(caught.value) and user.priv_key not in str(caught.value)
    assert client.stats.timeouts == 1


async def test_unknown_user_is_an_auth_error(client: SnmpV3Client, agent: SnmpdInstance) -> None:
    with pytest.raises(AuthError, match="unknown user"):
        await client.get(endpoint(agent, user_named("tw-m-shaaes"), user="nobody-here"), [SYS_NAME])


async def test_privacy_for_a_user_without_it_is_an_unsupported_security_level(
    client: SnmpV3Client, agent: SnmpdInstance
) -> None:
    user = user_named("tw-m-sha384none")
    asked = endpoint(agent, user, priv_protocol="aes", priv_key="some-priv-pass")
    with pytest.raises(AuthError, match="security level not accepted"):
        await client.get(asked, [SYS_NAME])


async def test_agent_restart_is_followed_by_a_resync_of_boots(
    client: SnmpV3Client, tmp_path: Path
) -> None:
    user = user_named("tw-m-sha256aes")
    with start_snmpd(tmp_path, name="restarting", v3_users=(user,), keep_state=True) as first:
        ep = endpoint(first, user)
        assert (await client.get(ep, [SYS_NAME]))[0].value == b"tw-snmpd"
        engine = client.engine(first.host, first.port)
    assert engine is not None
    # The same folder (engine ID and boots persisted) and the same port: the same agent, later.
    with start_snmpd(
        tmp_path,
        name="restarting",
        v3_users=(user,),
        port=first.port,
        keep_state=True,
        sys_name="tw-again",
    ) as again:
        got = await client.get(ep, [SYS_NAME])
        after = client.engine(again.host, again.port)
    assert got[0].value == b"tw-again"
    assert after is not None
    assert after[0] == engine[0]
    assert after[1] == engine[1] + 1
    assert client.stats.resyncs == 1
    assert client.stats.discoveries == 1


async def test_walks_equal_the_pysnmp_reference_path(
    client: SnmpV3Client, agent: SnmpdInstance
) -> None:
    """PysnmpSession: the slow, independent SNMPv3 implementation, as a second oracle."""
    ep = endpoint(agent, user_named("tw-m-sha384aes256"))
    async with PysnmpSession() as reference:
        theirs = await reference.walk(ep, IF_TABLE, max_repetitions=10)
    ours = await client.walk(ep, IF_TABLE, max_repetitions=10)
    assert_same_varbinds(ours, theirs)
    assert len(ours) > 14
