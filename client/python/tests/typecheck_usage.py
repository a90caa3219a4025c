"""Not a test: code as a producer writes it, checked by mypy --strict (scripts/python/test.sh) so
that the public API's type hints hold for its users."""

from __future__ import annotations

import asyncio
from typing import List

import intake_client
from intake_client import AsyncClient, Client, Result, Status, UnitEvent, Units


def produce(url: str) -> List[Result]:
    with Client(url, api_key="k", spool_dir="/tmp/x", on_error=lambda r: print(r.id, r.error)) as c:
        c.enqueue(intake_client.new_event("example.click", "/example/click/1.0.0", {"page": {"id": 1}}))
        c.enqueue(b'{"meta": {"stream": "example.click"}}')
        c.enqueue(UnitEvent({"meta": {"stream": "x"}}, Units(session="ab12cd34")))
        results = c.send({"meta": {"stream": "example.click"}}, timeout=5.0)
        ok: bool = results[0].ok and results[0].status is Status.ACCEPTED
        assert ok or intake_client.check(results)
        c.flush(1.0)
        return results


async def produce_async(url: str) -> int:
    async with AsyncClient(url, token_source=lambda: "jwt") as c:
        c.enqueue({"meta": {"stream": "example.click"}})
        results = await c.send({"meta": {"stream": "example.click"}})
        await c.flush()
        return c.stats().accepted + len(results)


if __name__ == "__main__":
    asyncio.run(produce_async("http://127.0.0.1:8192"))
