"""One scheduler tick with 100,000 due digests: how long enqueueing takes, and its memory.

Usage: .venv/bin/python bench/digest_enqueue.py [--n 100000] [--db sqlite|postgres|both]
PostgreSQL: STORYBOT_TEST_DATABASE_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/test),
in a throwaway schema. Subscribers have varied zones, times, sizes, topics and memories of past
digests, and are all due in this tick (a few minutes late at most).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._delivery_common import add_chats, database, show
from bot.feeds import import_from
from domain.schedule import zone
from storage.db import session_factory
from storage.models import Outbox, Subscription
from storage.subscriptions import enqueue_due_digests

SAMPLE = Path(__file__).resolve().parent.parent / "storage" / "data" / "sample_feed.json"
ZONES = ["UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Tokyo",
         "Asia/Kolkata", "Australia/Sydney", "UTC+03:00", "America/Sao_Paulo", "Europe/Kyiv", "Asia/Dubai"]  # fmt: skip
TAGS = ["ukraine", "climate", "sport", "politics", "science", "economy", "health", "world"]
FIRST = 10_000_000


async def add_subscriptions(engine, n: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    rows = []
    async with engine.begin() as conn:
        for i in range(n):
            due = now - timedelta(minutes=rng.randrange(0, 30))
            tz = ZONES[i % len(ZONES)]
            local = due.astimezone(zone(tz))
            rows.append(
                {
                    "chat_id": FIRST + i,
                    "active": True,
                    "paused": False,
                    "digest_minute": local.hour * 60 + local.minute,
                    "timezone": tz,
                    "size": rng.randrange(3, 11),
                    "breaking": True,
                    "quiet_note": rng.random() > 0.1,
                    "follow": [rng.choice(TAGS)] if rng.random() < 0.2 else [],
                    "mute": [rng.choice(TAGS)] if rng.random() < 0.1 else [],
                    "recent": [[[1, 1], [2, 2], [3, 3]]] if rng.random() < 0.3 else [],
                    "next_due_at": due,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(rows) == 5000:
                await conn.execute(insert(Subscription), rows)
                rows = []
        if rows:
            await conn.execute(insert(Subscription), rows)


async def bench(kind: str, n: int) -> dict[str, object]:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    async with database(kind) as engine:
        sessions = session_factory(engine)
        await import_from(sessions, str(SAMPLE))
        await add_chats(engine, n, first_id=FIRST)
        await add_subscriptions(engine, n, now)
        gc.collect()
        proc = psutil.Process()
        rss_before = proc.memory_info().rss
        peak = rss_before
        done = asyncio.Event()

        async def watch() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, proc.memory_info().rss)
                await asyncio.sleep(0.02)

        watcher = asyncio.create_task(watch())
        started = time.perf_counter()
        async with sessions() as session:
            report = await enqueue_due_digests(session, now=now, grace=timedelta(hours=3))
            await session.commit()
        elapsed = time.perf_counter() - started
        done.set()
        await watcher
        async with sessions() as session:
            rows = await session.scalar(select(func.count()).select_from(Outbox))
            left = await session.scalar(select(func.count()).where(Subscription.next_due_at <= now))
            own = await session.scalar(select(func.count()).where(Outbox.payload.is_not(None)))
        return {
            f"{kind}_subscribers_due": n,
            f"{kind}_digests_queued": report.queued,
            f"{kind}_quiet_none": report.empty,
            f"{kind}_outbox_rows": rows,
            f"{kind}_still_due_after": left,
            f"{kind}_campaigns": len(report.campaign_ids),
            f"{kind}_rows_with_own_payload": own,
            f"{kind}_tick_seconds": round(elapsed, 2),
            f"{kind}_rss_growth_mib": round((peak - rss_before) / 2**20, 1),
        }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    figures: dict[str, object] = {}
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        figures.update(await bench(kind, args.n))
    show(figures)


if __name__ == "__main__":
    asyncio.run(main())
