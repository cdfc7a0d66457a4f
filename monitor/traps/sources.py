"""Which asset a trap comes from: the assets that may send traps, with the labels their series
carry, by the literal address a datagram's source is compared with. Host names are resolved
when the configuration is applied (all their addresses), not per datagram.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from monitor.inventory import Asset

__all__ = ["TrapSource", "address_key", "resolve_sources"]

log = logging.getLogger("trunkwatch.traps")

_RESOLVE_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class TrapSource:
    """An asset that may send traps, with the labels its series carry."""

    asset: str
    site: str
    system: str
    kind: str
    host: str
    port: int | None = None
    #: The exporting process's ``replica`` and ``member`` (``Asset.process_labels``): both
    #: replicas of a pair receive each trap, and their series must stay apart.
    process_labels: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_asset(cls, asset: Asset) -> TrapSource:
        return cls(
            asset.id,
            asset.site,
            asset.system,
            asset.kind,
            asset.target.host,
            asset.target.port,
            asset.process_labels,
        )

    @property
    def labels(self) -> dict[str, str]:
        """The labels of this asset's trap series, the process's included."""
        return {
            "site": self.site,
            "asset": self.asset,
            "system": self.system,
            "kind": self.kind,
            **dict(self.process_labels),
        }


def address_key(host: str) -> str | None:
    """A literal address in one spelling (IPv4-mapped IPv6 as IPv4), None for a host name."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


async def resolve_sources(sources: Iterable[TrapSource]) -> dict[str, list[TrapSource]]:
    """Sources by address; host names are resolved (all their addresses), failures logged."""
    by_address: dict[str, list[TrapSource]] = {}
    named: list[TrapSource] = []
    for source in sources:
        key = address_key(source.host)
        if key is None:
            named.append(source)
        else:
            by_address.setdefault(key, []).append(source)
    if named:
        loop = asyncio.get_running_loop()
        limit = asyncio.Semaphore(16)

        async def lookup(source: TrapSource) -> tuple[TrapSource, set[str]]:
            async with limit:
                try:
                    async with asyncio.timeout(_RESOLVE_TIMEOUT_S):
                        infos = await loop.getaddrinfo(source.host, None, type=socket.SOCK_DGRAM)
                except (OSError, TimeoutError) as exc:
                    log.warning(
                        "traps from asset %s cannot be attributed: %s does not resolve (%s)",
                        source.asset,
                        source.host,
                        type(exc).__name__,
                    )
                    return source, set()
            return source, {k for info in infos if (k := address_key(str(info[4][0])))}

        for source, keys in await asyncio.gather(*(lookup(s) for s in named)):
            for key in sorted(keys):
                by_address.setdefault(key, []).append(source)
    return by_address
