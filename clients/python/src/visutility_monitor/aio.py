"""AsyncMetricPublisher: MetricPublisher for asyncio code (FastAPI, aiohttp, Triton's async models).

Buffering an event takes microseconds and never touches the network, so ``publish`` runs on the
event loop; only what can block (waiting for room in a full buffer, ``flush``, ``close``) runs in a
worker thread through ``asyncio.to_thread``. The sending itself happens on the publisher's own
sender threads, never on the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .publisher import MetricPublisher, PublisherCounters, PublishResult, Rejected

if TYPE_CHECKING:  # typing.Unpack is 3.11+; annotations are not evaluated at run time
    from typing_extensions import Unpack

    from .publisher import PublisherOptions


class AsyncMetricPublisher:
    """The same options and behaviour as MetricPublisher, with awaitable methods."""

    def __init__(self, queue_url: str, **options: Unpack[PublisherOptions]) -> None:
        self.sync = MetricPublisher(queue_url, **options)

    @property
    def counters(self) -> PublisherCounters:
        return self.sync.counters

    @property
    def rejections(self) -> list[Rejected]:
        return self.sync.rejections

    @property
    def pending(self) -> int:
        return self.sync.pending

    async def publish(self, event: Mapping[str, Any] | Any) -> PublishResult:
        result = self.sync._publish(event, block=False)
        if result is not None:
            return result
        return await asyncio.to_thread(self.sync.publish, event)

    async def flush(self) -> None:
        await asyncio.to_thread(self.sync.flush)

    async def close(self) -> None:
        await asyncio.to_thread(self.sync.close)

    async def __aenter__(self) -> AsyncMetricPublisher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
