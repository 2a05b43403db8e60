"""Peak memory of the delivery engine during a 100,000-recipient campaign, above its idle level.

    .venv/bin/python bench/delivery_memory.py [--db sqlite|postgres] [--recipients 100000]

The chats are generated inside the database. "Idle" is this process with the engine started and
nothing to send (after a few idle polls); then the campaign is queued (INSERT ... SELECT) and sent
to the fake Bot API (own process, no limits) while a thread samples RSS every 10 ms. Prints the
idle RSS, the peak and the difference in MiB (target: ≤ 20 MiB).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import threading
import time

import psutil
from _delivery_common import TOKEN, add_chats, campaign_done, database, fake_server, show

from bot.delivery import BotApi, DeliveryWorker
from storage.db import session_factory
from storage.outbox import active_chats, enqueue_campaign

MIB = 1024 * 1024
PAYLOAD = {"type": "text", "html": "<b>Storybot</b> — memory bench broadcast.", "buttons": []}


class Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process()
        self.peak = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.01)


async def run(db: str, recipients: int) -> None:
    with fake_server() as base_url:
        async with database(db) as engine:
            sessions = session_factory(engine)
            await add_chats(engine, recipients)
            worker = DeliveryWorker(sessions, BotApi(TOKEN, base_url), rate=100_000, idle_poll=0.05)
            worker.start()
            await asyncio.sleep(2.0)  # idle: pools built, statements compiled, a few empty polls
            gc.collect()
            idle = psutil.Process().memory_info().rss
            sampler = Sampler()
            sampler.start()
            start = time.perf_counter()
            async with sessions() as session:
                cid = await enqueue_campaign(
                    session, kind="broadcast", payload=PAYLOAD, recipients=active_chats()
                )
                await session.commit()
            worker.wake()
            counts = await campaign_done(sessions, cid, every=0.5)
            elapsed = time.perf_counter() - start
            sampler.running = False
            sampler.join()
            await worker.stop()
            await worker.api.aclose()
    show(
        {
            "db": db,
            "recipients": recipients,
            "statuses_saved": counts,
            "seconds": round(elapsed, 1),
            "idle_rss_mib": round(idle / MIB, 1),
            "peak_rss_mib": round(sampler.peak / MIB, 1),
            "peak_above_idle_mib": round((sampler.peak - idle) / MIB, 1),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--recipients", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(run(args.db, args.recipients))


if __name__ == "__main__":
    main()
