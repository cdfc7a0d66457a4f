"""Start a real net-snmp ``snmpd`` on a free loopback port for tests and benches.

``start_snmpd(tmp_path, extra_config=...)`` is a context manager yielding an ``SnmpdInstance``
with the address, the v2c community and the v3 users it was configured with. The agent runs in
the foreground with its own config only (``-C``), keeps its persistent state under
``tmp_path`` (``SNMP_PERSISTENT_DIR``), and is always stopped on exit. ``extra_config`` lines
(``extend``, ``pass``, ``trap2sink`` …) are appended to the generated ``snmpd.conf``.

Every instance accepts the community ``tw-test-ro`` from its own address and three authPriv
USM users (SHA/AES, SHA-256/AES, SHA-512/AES-256); ``V3_MATRIX`` adds, for an instance started
with ``v3_users=ALL_V3_USERS``, one user for every security level and protocol pair Debian's
net-snmp 5.9 supports (auth none, MD5, SHA, SHA-224/256/384/512 × priv none, DES, AES,
AES-192/256). ``SnmpdInstance.run_tool("snmpget", oid)`` runs net-snmp's tools against it as
the oracle. ``port=`` and ``keep_state=True`` start an agent again where it was, with the
engine ID and boots it saved (``-C`` alone keeps snmpd from reading its own persistent file, so
it is named with ``-c``): the restart shows as snmpEngineBoots + 1.

A missing ``snmpd`` binary is a failure with an install hint, never a skip: these tests are
the proof that the SNMP layer talks to a real agent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from tests.helpers import await_peer, stop_process

__all__ = [
    "ALL_V3_USERS",
    "SNMPD",
    "V3_MATRIX",
    "V3_USERS",
    "SnmpdError",
    "SnmpdInstance",
    "V3User",
    "free_udp_port",
    "start_snmpd",
]

SNMPD = "/usr/sbin/snmpd"
COMMUNITY = "tw-test-ro"
START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class V3User:
    """A USM user as configured in snmpd (net-snmp names: ``SHA-256``, ``AES-256`` …;
    ``none`` for no authentication or no privacy)."""

    name: str
    auth_protocol: str
    auth_key: str = field(repr=False)
    priv_protocol: str
    priv_key: str = field(repr=False)

    @property
    def level(self) -> str:
        """net-snmp's name of the user's security level."""
        if self.auth_protocol == "none":
            return "noAuthNoPriv"
        return "authNoPriv" if self.priv_protocol == "none" else "authPriv"

    def cli_args(self) -> list[str]:
        """Options for ``snmpget``/``snmpbulkwalk`` to authenticate as this user."""
        args = ["-v3", "-l", self.level, "-u", self.name]
        if self.auth_protocol != "none":
            args += ["-a", self.auth_protocol, "-A", self.auth_key]
        if self.priv_protocol != "none":
            args += ["-x", self.priv_protocol, "-X", self.priv_key]
        return args

    def config_lines(self) -> list[str]:
        """The ``createUser`` and ``rouser`` lines of snmpd.conf for this user."""
        create = f"createUser {self.name}"
        if self.auth_protocol != "none":
            create += f' {self.auth_protocol} "{self.auth_key}"'
        if self.priv_protocol != "none":
            create += f' {self.priv_protocol} "{self.priv_key}"'
        access = {"noAuthNoPriv": "noauth", "authNoPriv": "auth", "authPriv": "authpriv"}
        return [create, f"rouser {self.name} {access[self.level]}"]


#: The users every instance gets; all three combinations work with Debian's net-snmp 5.9.
V3_USERS: tuple[V3User, ...] = (
    V3User("tw-sha", "SHA", "tw-auth-sha1-key", "AES", "tw-priv-aes128"),
    V3User("tw-sha256", "SHA-256", "tw-auth-sha256-key", "AES", "tw-priv-aes128b"),
    V3User("tw-sha512", "SHA-512", "tw-auth-sha512-key", "AES-256", "tw-priv-aes256"),
)


def _matrix() -> tuple[V3User, ...]:
    users = [V3User("tw-m-nonenone", "none", "", "none", "")]
    for auth in ("MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"):
        for priv in ("none", "DES", "AES", "AES-192", "AES-256"):
            name = "tw-m-" + f"{auth}{priv}".lower().replace("-", "")
            auth_key = f"auth-{name}-pass"
            priv_key = "" if priv == "none" else f"priv-{name}-pass"
            users.append(V3User(name, auth, auth_key, priv, priv_key))
    return tuple(users)


#: One user per security level and protocol pair net-snmp 5.9 supports: 31 users.
V3_MATRIX: tuple[V3User, ...] = _matrix()
ALL_V3_USERS: tuple[V3User, ...] = V3_USERS + V3_MATRIX


class SnmpdError(RuntimeError):
    """snmpd is missing, exited at start, or did not answer in time."""


@dataclass(frozen=True)
class SnmpdInstance:
    """A running snmpd: where it listens and the credentials it accepts."""

    host: str
    port: int
    community: str = field(repr=False)
    v3_users: tuple[V3User, ...]
    workdir: Path
    process: subprocess.Popen[bytes] = field(repr=False, compare=False)

    @property
    def address(self) -> str:
        """The agent address as net-snmp's command-line tools want it."""
        return _transport_spec(self.host, self.port)

    def v3_user(self, auth_protocol: str) -> V3User:
        """The configured user whose net-snmp auth protocol is ``auth_protocol`` (e.g. SHA)."""
        for user in self.v3_users:
            if user.auth_protocol == auth_protocol:
                return user
        raise KeyError(auth_protocol)

    def tool_env(self) -> dict[str, str]:
        """Environment for net-snmp tools: no MIB loading, state kept in the instance folder."""
        env = dict(os.environ)
        env["MIBS"] = ""
        env["SNMP_PERSISTENT_DIR"] = str(self.workdir / "tools")
        return env

    def run_tool(
        self, tool: str, *operands: str, options: Sequence[str] = ("-On",), timeout: float = 30.0
    ) -> str:
        """Run ``tool [credentials] options ADDRESS operands`` (e.g. snmpget and its OIDs).

        Credentials are v2c with this agent's community unless ``options`` pick a version
        themselves (``V3User.cli_args()``). Returns stdout; a non-zero exit raises.
        """
        credentials: list[str] = []
        if not any(option.startswith("-v") for option in options):
            credentials = ["-v2c", "-c", self.community]
        proc = subprocess.run(
            [tool, *credentials, *options, self.address, *operands],
            capture_output=True,
            env=self.tool_env(),
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise SnmpdError(
                f"{tool} exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-500:]}"
            )
        return proc.stdout.decode("utf-8", errors="replace")


def _transport_spec(host: str, port: int) -> str:
    return f"udp6:[{host}]:{port}" if ":" in host else f"udp:{host}:{port}"


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port that was free a moment ago (the agent binding it may still race others)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _config(community: str, users: tuple[V3User, ...], extra: str, host: str, sys_name: str) -> str:
    keyword = "rocommunity6" if ":" in host else "rocommunity"
    source = f"{keyword} {community} {host}"
    lines = [
        "# generated by tests/integration/snmpd.py",
        source,
        "dontLogTCPWrappersConnects yes",
        "sysLocation trunkwatch test rack",
        "sysContact noc@example.org",
        f"sysName {sys_name}",
    ]
    for user in users:
        lines.extend(user.config_lines())
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


def _answers(instance: SnmpdInstance) -> bool:
    proc = subprocess.run(
        [
            "snmpget",
            "-v2c",
            "-c",
            instance.community,
            "-t",
            "0.3",
            "-r",
            "0",
            "-On",
            instance.address,
            "1.3.6.1.2.1.1.3.0",
        ],
        capture_output=True,
        env=instance.tool_env(),
        timeout=5,
        check=False,
    )
    return proc.returncode == 0


@contextlib.contextmanager
def start_snmpd(
    tmp_path: Path,
    extra_config: str = "",
    *,
    community: str = COMMUNITY,
    v3_users: tuple[V3User, ...] = V3_USERS,
    host: str = "127.0.0.1",
    name: str = "snmpd",
    sys_name: str = "tw-snmpd",
    port: int | None = None,
    keep_state: bool = False,
) -> Iterator[SnmpdInstance]:
    """Run snmpd on a free port of ``host`` until the block ends; fail clearly if it cannot.

    ``host`` may be an IPv6 address (``::1``). ``name`` names the instance's folder under
    ``tmp_path``, so one test can run several; ``sys_name`` sets sysName.0 to tell them apart.
    ``port`` binds that port instead of a free one; ``keep_state`` has the agent read the
    state it saved in the folder (engine ID, boots) on a previous run.
    """
    if not Path(SNMPD).is_file() or shutil.which("snmpget") is None:
        raise SnmpdError(
            f"{SNMPD} or snmpget not found: install Debian's snmpd and snmp packages "
            "(apt-get install -y snmpd snmp)"
        )
    workdir = tmp_path / name
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "snmpd.conf"
    conf.write_text(_config(community, v3_users, extra_config, host, sys_name))
    env = dict(os.environ)
    env["SNMP_PERSISTENT_DIR"] = str(workdir / "persist")
    conf_files = str(conf)
    if keep_state:
        saved = workdir / "persist" / "snmpd.conf"
        saved.parent.mkdir(exist_ok=True)
        saved.touch()
        conf_files = f"{conf},{saved}"
    env["MIBS"] = ""
    last_error = "not started"
    wanted_port = port
    # The free port can be taken between our probe and snmpd's bind: try a few ports.
    for _attempt in range(3):
        port = free_udp_port(host) if wanted_port is None else wanted_port
        log_path = workdir / f"snmpd-{port}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    SNMPD,
                    "-f",
                    "-Lo",
                    "-C",
                    "-c",
                    conf_files,
                    "-p",
                    str(workdir / "snmpd.pid"),
                    _transport_spec(host, port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        instance = SnmpdInstance(host, port, community, v3_users, workdir, proc)
        try:
            failed = await_peer(
                "snmpd", proc, partial(_answers, instance), log_path, START_TIMEOUT_S, 0.05
            )
            if failed is not None:
                last_error = failed
                continue
            yield instance
            return
        finally:
            stop_process(proc)
    raise SnmpdError(f"could not start snmpd on {host}: {last_error}")
