"""SNMP: the ``snmp`` probe, the clients it polls with, and the profiles that say what to poll.

The modules from the bottom up; each imports only modules listed before it (a layers
contract in pyproject.toml holds that)::

    ber             BER lengths, integers and OIDs, with SNMP's limits
    codec           v1/v2c messages and bare PDUs to and from bytes; SNMPv3 headers read
                    without keys
    usm             SNMPv3 USM protocol names and net-snmp's spellings of them
    v3message       SNMPv3 messages with USM parameters and scoped PDUs, without keys
    usmcrypto       USM keys from pass phrases, digests, DES and AES privacy
    errors          an agent's error-status as a ProbeError; usable USM credentials
    walk            one subtree gathered from successive replies
    udp             what both clients do with UDP: shared sockets, request ids, sends, retries
    v3client        the process-wide SNMPv3 (USM) client: discovery, time window, GETBULK
    client          the process-wide v1/v2c client over one UDP socket per address family
    v3              SNMPv3 notifications over pysnmp (its only importer), and PysnmpSession,
                    the reference SNMPv3 requester the tests hold v3client against
    mibs            MODULE::object names resolved by compiling MIB texts (+ mibs/)
    rows, state     a row's index and labels as text; what one device's polls remember
    mappers, plan   a profile's metrics as mappers and groups; what a probe fetches
    poll            one device's poll over a transport, made into a ProbeResult
    profile_schema  the profile file format and its checks
    profiles        the library of profiles, loaded and compiled (+ profiles/*.yaml)
    probe           the ``snmp`` probe: parameters, credentials, the loop's shared sessions

Everything another package needs is re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from probes.snmp.client import SnmpClient, SnmpClientStats, SnmpEndpoint
from probes.snmp.codec import (
    OID,
    CodecError,
    Message,
    MessageHeader,
    PduType,
    Tag,
    TrapV1,
    VarBind,
    decode_message,
    encode_message,
    format_oid,
    parse_oid,
    peek_header,
)
from probes.snmp.mibs import SHIPPED_MIB_DIRS, MibError, MibResolver
from probes.snmp.plan import PollPlan
from probes.snmp.poll import DevicePoller, SnmpTransport
from probes.snmp.probe import (
    SnmpParams,
    SnmpProbe,
    client_stats,
    close_shared_sessions,
    create,
)
from probes.snmp.profiles import (
    Profile,
    ProfileConflict,
    ProfileLibrary,
    TrapRule,
    UnknownProfile,
    library,
    load_profile,
)
from probes.snmp.usm import (
    AuthProtocol,
    AuthProtocolName,
    PrivProtocol,
    PrivProtocolName,
    usm_protocol,
)

if TYPE_CHECKING:
    from probes.snmp.v3 import (
        PysnmpSession,
        V3Notification,
        V3NotificationReceiver,
        V3Outcome,
        V3TrapUser,
    )
    from probes.snmp.v3client import SnmpV3Client, SnmpV3ClientStats, SnmpV3Endpoint

#: Names whose module imports pysnmp (about 20 MB and most of a second): loaded on first use,
#: so that a v1/v2c poller, the simulator and the codec never pay for SNMPv3.
_FROM_V3 = frozenset(
    {
        "PysnmpSession",
        "V3Notification",
        "V3NotificationReceiver",
        "V3Outcome",
        "V3TrapUser",
    }
)


#: Names whose module loads USM's cryptography (OpenSSL): only where SNMPv3 is polled.
_FROM_V3CLIENT = frozenset({"SnmpV3Client", "SnmpV3ClientStats", "SnmpV3Endpoint"})


def __getattr__(name: str) -> object:
    if name in _FROM_V3CLIENT:
        from probes.snmp import v3client

        return getattr(v3client, name)
    if name in _FROM_V3:
        from probes.snmp import v3

        return getattr(v3, name)
    raise AttributeError(f"module 'probes.snmp' has no attribute {name!r}")


__all__ = [
    "OID",
    "SHIPPED_MIB_DIRS",
    "AuthProtocol",
    "AuthProtocolName",
    "CodecError",
    "DevicePoller",
    "Message",
    "MessageHeader",
    "MibError",
    "MibResolver",
    "PduType",
    "PollPlan",
    "PrivProtocol",
    "PrivProtocolName",
    "Profile",
    "ProfileConflict",
    "ProfileLibrary",
    "PysnmpSession",
    "SnmpClient",
    "SnmpClientStats",
    "SnmpEndpoint",
    "SnmpParams",
    "SnmpProbe",
    "SnmpTransport",
    "SnmpV3Client",
    "SnmpV3ClientStats",
    "SnmpV3Endpoint",
    "Tag",
    "TrapRule",
    "TrapV1",
    "UnknownProfile",
    "V3Notification",
    "V3NotificationReceiver",
    "V3Outcome",
    "V3TrapUser",
    "VarBind",
    "client_stats",
    "close_shared_sessions",
    "create",
    "decode_message",
    "encode_message",
    "format_oid",
    "library",
    "load_profile",
    "parse_oid",
    "peek_header",
    "usm_protocol",
]
