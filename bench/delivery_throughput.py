"""Delivery throughput, end to end: outbox → worker → fake Bot API (own process) → statuses saved.

    .venv/bin/python bench/delivery_throughput.py --db sqlite --recipients 20000
    .venv/bin/python bench/delivery_throughput.py --db postgres --recipients 20000
    .venv/bin/python bench/delivery_throughput.py --db sqlite --rate-limit 30 --recipients 3000

Without --rate-limit the fake enforces nothing and the worker runs with DELIVERY_RATE=100000 (so the
pacer is in the path but never the bottleneck): the figure is messages/s from the first claim until
every recipient's status is in the database. With --rate-limit R the fake answers 429 past R
messages/s (sliding window) and the worker runs with DELIVERY_RATE=R: the figures are the share of
R sustained and the share of sends answered 429. PostgreSQL: STORYBOT_TEST_DATABASE_URL or
postgresql+asyncpg://postgres@127.0.0.1:5432/test.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from _delivery_common import (
    TOKEN,
    add_chats,
    campaign_done,
    database,
    fake_server,
    fake_stats,
    show,
)
from sqlalchemy import func, select

from bot.delivery import BotApi, DeliveryWorker
from storage.db import session_factory
from storage.models import Outbox
from storage.outbox import active_chats, enqueue_campaign

PAYLOAD = {
    "type": "text",
    "html": "<b>Storybot</b> — a broadcast to every subscriber, with a <i>little</i> formatting.",
    "buttons": [[{"text": "📈 Trending", "data": "t"}]],
}


async def run(
    db: str, recipients: int, rate_limit: int, shards: int, per_shard: int, concurrency: int | None
) -> None:
    with fake_server(rate_limit) as base_url:
        async with database(db) as engine:
            sessions = session_factory(engine)
            await add_chats(engine, recipients)
            t0 = time.perf_counter()
            async with sessions() as session:
                cid = await enqueue_campaign(
                    session, kind="broadcast", payload=PAYLOAD, recipients=active_chats()
                )
                await session.commit()
            enqueue_s = time.perf_counter() - t0
            before = fake_stats(base_url)
            worker = DeliveryWorker(
                sessions,
                BotApi(TOKEN, base_url, shards=shards, connections_per_shard=per_shard),
                rate=rate_limit or 100_000,
                concurrency=concurrency,
                idle_poll=0.05,
                progress_interval=5.0,
            )
            start = time.perf_counter()
            worker.start()
            counts = await campaign_done(sessions, cid, every=0.1)
            elapsed = time.perf_counter() - start
            await worker.stop()
            await worker.api.aclose()
            after = fake_stats(base_url)
            async with sessions() as session:
                first, last = (
                    await session.execute(
                        select(func.min(Outbox.sent_at), func.max(Outbox.sent_at)).where(
                            Outbox.campaign_id == cid
                        )
                    )
                ).one()
    sends = after["sends_ok"] - before["sends_ok"]
    answered_429 = after["too_many_requests"] - before["too_many_requests"]
    attempts = sends + answered_429
    figures: dict[str, object] = {
        "db": db,
        "recipients": recipients,
        "rate_limit": rate_limit or "none",
        "enqueue_seconds": round(enqueue_s, 3),
        "seconds": round(elapsed, 2),
        "statuses_saved": counts,
        "messages_per_second": round(counts.get("sent", 0) / elapsed, 1),
        "fake_sends_ok": sends,
        "answered_429": answered_429,
        "share_429_percent": round(100 * answered_429 / max(1, attempts), 3),
    }
    # Sustained: from the first answered send to the last (the start-up — first claim, connections —
    # is in the end-to-end figure above, not in this one).
    sustained = (counts.get("sent", 0) - 1) / max(1e-9, (last or 0) - (first or 0))
    figures["sustained_messages_per_second"] = round(sustained, 1)
    if rate_limit:
        figures["share_of_limit_percent"] = round(100 * counts.get("sent", 0) / elapsed / rate_limit, 1)
        figures["sustained_share_of_limit_percent"] = round(100 * sustained / rate_limit, 1)
    show(figures)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--rate-limit", type=int, default=0, help="messages/s the fake allows (0 = no limit)")
    parser.add_argument("--shards", type=int, default=16, help="httpx clients (connection pools)")
    parser.add_argument("--per-shard", type=int, default=4, help="connections per pool")
    parser.add_argument("--concurrency", type=int, default=None, help="sender coroutines (default: by rate)")
    args = parser.parse_args()
    asyncio.run(run(args.db, args.recipients, args.rate_limit, args.shards, args.per_shard, args.concurrency))


if __name__ == "__main__":
    main()
