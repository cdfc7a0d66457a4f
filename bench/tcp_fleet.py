"""The scheduler bench's devices: TCP listeners on many loopback addresses, in a process of
their own, that accept a connection and close it at once (the cheapest peer a TCP connect
probe can have)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from multiprocessing import get_context
from multiprocessing.connection import Connection

FLEET_START_SECONDS = 30.0


class _Hangup(asyncio.Protocol):
    """Accept and close at once: the cheapest peer a TCP connect probe can have."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


def host_address(index: int) -> str:
    """The index-th bench device address in 127.0.0.0/8, skipping .0 and .255."""
    return f"127.0.{index // 254}.{index % 254 + 1}"


async def _serve_fleet(hosts: int, conn: Connection, lifetime: float) -> None:
    loop = asyncio.get_running_loop()
    servers: list[asyncio.Server] = []
    try:
        addresses: list[tuple[str, int]] = []
        for index in range(hosts):
            host = host_address(index)
            server = await loop.create_server(_Hangup, host, 0, backlog=1024)
            servers.append(server)
            addresses.append((host, server.sockets[0].getsockname()[1]))
        conn.send(addresses)
        stop = asyncio.Event()
        # Anything from the parent, or its end of the pipe closing, means stop.
        loop.add_reader(conn.fileno(), stop.set)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(lifetime):
                await stop.wait()
    finally:
        for server in servers:
            server.close()


def serve_fleet(hosts: int, cpu: int | None, conn: Connection, lifetime: float) -> None:
    """Process entry: listen on ``hosts`` loopback addresses until told to stop."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    asyncio.run(_serve_fleet(hosts, conn, lifetime))


@contextlib.contextmanager
def fleet(hosts: int, cpu: int | None, lifetime: float) -> Iterator[list[tuple[str, int]]]:
    """Start the listeners in a child process; yields their (host, port) addresses."""
    ctx = get_context("spawn")
    ours, theirs = ctx.Pipe()
    process = ctx.Process(
        target=serve_fleet, args=(hosts, cpu, theirs, lifetime), name="bench-fleet", daemon=True
    )
    process.start()
    theirs.close()
    try:
        if not ours.poll(FLEET_START_SECONDS):
            raise RuntimeError(f"the fleet did not start within {FLEET_START_SECONDS:g} s")
        addresses: list[tuple[str, int]] = ours.recv()
        yield addresses
    finally:
        with contextlib.suppress(OSError):
            ours.send("stop")
        ours.close()
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join(5)
