"""TCP connect probe: can the service's port be opened, and how long does the handshake take."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from probes.base import (
    ConnectionRefused,
    Family,
    ProbeConfigError,
    ProbeResult,
    ProbeTimeout,
    Sample,
    Target,
    Unreachable,
    validate_params,
)

__all__ = ["TcpParams", "TcpProbe", "create"]

CONNECT_SECONDS = Family(
    "trunkwatch_tcp_connect_seconds", "gauge", "Time to complete the TCP handshake."
)


class TcpParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    port: int | None = Field(None, ge=1, le=65535)


class TcpProbe:
    def __init__(self, params: TcpParams) -> None:
        self.params = params

    async def run(self, target: Target) -> ProbeResult:
        port = self.params.port or target.port
        if port is None:
            raise ProbeConfigError("no port: set it in the address or the probe")
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        try:
            # A bare protocol: a stream reader and writer would cost more than the handshake.
            transport, _ = await loop.create_connection(asyncio.Protocol, target.host, port)
        except ConnectionRefusedError as exc:
            raise ConnectionRefused("connection refused") from exc
        except TimeoutError as exc:
            raise ProbeTimeout("connect timed out") from exc
        except OSError as exc:
            # No route, host down, name not resolvable: the target cannot be reached.
            raise Unreachable(exc.strerror or "unreachable") from exc
        elapsed = time.perf_counter() - started
        transport.close()
        return ProbeResult([Sample(CONNECT_SECONDS, elapsed)])


def create(params: Mapping[str, Any], *, timeout: float) -> TcpProbe:
    return TcpProbe(validate_params(TcpParams, params))
