"""The daemon's side of traps: one receiver kept matching the configuration across reloads,
its alarm book (counters and alarms) kept across a change of address.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from prometheus_client.registry import CollectorRegistry

from monitor.config import Config
from monitor.core.clock import Clock
from monitor.core.listen import ListenError
from monitor.core.sources import ConfigError
from monitor.inventory import Asset
from monitor.traps.alarms import TrapBook
from monitor.traps.receiver import TrapReceiver
from monitor.traps.section import TRAPS
from monitor.traps.settings import build_settings
from monitor.traps.sources import TrapSource, resolve_sources
from probes.base import ProbeConfigError

__all__ = ["TrapService"]


class TrapService:
    """Runs the trap receiver the configuration asks for: started when ``traps:`` appears,
    reconfigured on reload (a new ``listen`` binds a new socket before the old one closes,
    keeping counters and alarms), stopped when the section goes."""

    def __init__(self, registry: CollectorRegistry, clock: Clock | None = None) -> None:
        self._registry = registry
        self._clock = clock
        self.receiver: TrapReceiver | None = None
        self._book: TrapBook | None = None

    async def apply(self, config: Config, assets: Iterable[Asset]) -> None:
        """Make the receiver match ``config``. Raises ConfigError (keeping what runs) when
        the section cannot be used, including an address that cannot be bound."""
        if TRAPS.of(config) is None:
            await self.close()
            return
        settings = await asyncio.to_thread(build_settings, config)
        sources = await resolve_sources(TrapSource.from_asset(a) for a in assets)
        current = self.receiver
        if current is not None and current.settings.listen == settings.listen:
            try:
                current.reconfigure(settings)
            except ProbeConfigError as exc:
                raise ConfigError([config.source.problem(("traps", "v3_users"), str(exc))]) from exc
            current.set_sources(sources)
            return
        if self._book is None:
            self._book = TrapBook(self._clock)
        receiver = TrapReceiver(settings, book=self._book)
        try:
            await receiver.start()
        except ProbeConfigError as exc:
            raise ConfigError([config.source.problem(("traps", "v3_users"), str(exc))]) from exc
        except OSError as exc:
            failure = ListenError("udp", *settings.listen, exc)
            raise ConfigError([config.source.problem(("traps", "listen"), str(failure))]) from exc
        receiver.set_sources(sources)
        if current is not None:
            await current.stop()
        else:
            self._registry.register(self._book.collector)
        self.receiver = receiver

    async def close(self) -> None:
        receiver, self.receiver = self.receiver, None
        if receiver is not None:
            await receiver.stop()
        if self._book is not None:
            self._registry.unregister(self._book.collector)
            self._book = None
