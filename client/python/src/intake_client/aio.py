"""asyncio: AsyncClient wraps Client; what waits on the network runs in a worker thread
(asyncio.to_thread), so the event loop is never blocked. Batches are still posted by the client's
sender threads."""

from __future__ import annotations

import asyncio
from typing import Any, List, Optional, Union

from ._client import Client
from ._event import Event, UnitEvent
from ._result import Result, Stats


class AsyncClient:
    """Client for asyncio code: AsyncClient(url, **the options of Client). enqueue is a plain
    method (it never waits on the network; with a spool it writes one record to disk), but in
    developer mode, where it is send; send, flush, close and refresh_stream_config are coroutines."""

    def __init__(self, url: str, **options: Any) -> None:
        self.client = Client(url, **options)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send(self, *events: Union[Event, UnitEvent], timeout: Optional[float] = None) -> List[Result]:
        return await asyncio.to_thread(self.client.send, *events, timeout=timeout)

    def enqueue(self, event: Union[Event, UnitEvent]) -> None:
        """Queues an event (Client.enqueue). In developer mode use enqueue_async: it posts."""
        self.client.enqueue(event)

    async def enqueue_async(self, event: Union[Event, UnitEvent]) -> None:
        """Client.enqueue in a worker thread: for developer mode, where enqueue posts at once."""
        await asyncio.to_thread(self.client.enqueue, event)

    async def flush(self, timeout: Optional[float] = None) -> bool:
        return await asyncio.to_thread(self.client.flush, timeout)

    async def close(self, timeout: Optional[float] = None) -> None:
        await asyncio.to_thread(self.client.close, timeout)

    async def refresh_stream_config(self) -> None:
        await asyncio.to_thread(self.client.refresh_stream_config)

    def stats(self) -> Stats:
        return self.client.stats()
