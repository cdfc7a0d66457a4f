"""The daemon's one reload worker: SIGHUP and ``POST /-/reload`` ask, the worker reloads.

A reload never runs in the task of whoever asked for it: the worker runs every one, one at a
time, so two requests can never interleave inside a reload (a trap receiver moving to a new
address, the scheduler taking new jobs), and a requester that goes away (a client hanging up,
a handler cancelled at shutdown) cannot cut one short halfway. Requests that arrive while a
reload is under way are answered together by the next one, which starts after it finishes:
every answer comes from a reload that read the file after it was asked for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

__all__ = ["ReloadWorker"]


class ReloadWorker:
    """Runs ``reload`` (which returns the problems that kept a file from being installed, and
    never raises) on request, one at a time, until cancelled. Once it has stopped, requests
    are answered with ``stopped`` at once."""

    def __init__(self, reload: Callable[[], Awaitable[list[str]]], *, stopped: list[str]) -> None:
        self._reload = reload
        self._stopped = stopped
        self._asked: list[asyncio.Future[list[str]]] = []
        self._wanted = asyncio.Event()
        self._closed = False

    def ask(self) -> None:
        """Ask for a reload without waiting for it (what a signal handler can do)."""
        if not self._closed:
            self._wanted.set()

    async def reload(self) -> list[str]:
        """Ask for a reload and wait for its problems (empty when the file was installed).
        Cancelling the wait leaves the reload to finish in the worker."""
        if self._closed:
            return list(self._stopped)
        answer: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._asked.append(answer)
        self._wanted.set()
        return await answer

    async def run(self) -> None:
        """Serve requests until cancelled; whoever is still waiting then gets ``stopped``."""
        try:
            while True:
                await self._wanted.wait()
                self._wanted.clear()
                asked, self._asked = self._asked, []
                try:
                    problems = await self._reload()
                except BaseException:
                    self._asked[:0] = asked  # answered below, as stopped
                    raise
                for answer in asked:
                    if not answer.done():  # its requester may have gone
                        answer.set_result(list(problems))
        finally:
            self._closed = True
            asked, self._asked = self._asked, []
            for answer in asked:
                if not answer.done():
                    answer.set_result(list(self._stopped))
