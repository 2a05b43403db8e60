"""The delivery worker end to end against the fake Bot API, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import BotApi, DeliveryWorker
from storage.models import Campaign, Chat, Outbox
from storage.outbox import active_chats, campaign_counts, claim, enqueue_campaign
from tests.fake_telegram import FakeTelegram

PAYLOAD = {"type": "text", "html": "<b>Hello</b> subscribers", "buttons": [[{"text": "Open", "data": "t"}]]}


async def add_chats(sessions: async_sessionmaker[AsyncSession], ids: list[int]) -> None:
    now = datetime.now(UTC)
    async with sessions() as session:
        await session.execute(
            insert(Chat), [{"id": i, "type": "private", "started_at": now, "last_seen_at": now} for i in ids]
        )
        await session.commit()


async def wait_done(
    sessions: async_sessionmaker[AsyncSession], campaign_id: int, within: float = 30
) -> dict[str, int]:
    """Until the worker's monitor has closed the campaign (nothing pending any more)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with sessions() as session:
            counts = await campaign_counts(session, campaign_id)
            status = await session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
        if status == "done":
            assert not counts.get("pending")
            return counts
        await asyncio.sleep(0.1)
    raise AssertionError(f"campaign not finished: {counts}")


async def broadcast_to_all(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        cid = await enqueue_campaign(session, kind="broadcast", payload=PAYLOAD, recipients=active_chats())
        await session.commit()
    return cid


async def run_until_done(
    w: DeliveryWorker, sessions: async_sessionmaker[AsyncSession], campaign_id: int
) -> dict[str, int]:
    w.start()
    try:
        return await wait_done(sessions, campaign_id)
    finally:
        await w.stop()
        await w.api.aclose()


def worker(sessions: async_sessionmaker[AsyncSession], fake: FakeTelegram, **kw: object) -> DeliveryWorker:
    return DeliveryWorker(
        sessions,
        BotApi(fake.token, fake.base_url),
        rate=1000,
        idle_poll=0.1,
        progress_interval=0.2,
        **kw,  # type: ignore[arg-type]
    )


async def test_every_recipient_gets_one_copy_blocked_marked_errors_retried(
    sessions: async_sessionmaker[AsyncSession], fake: FakeTelegram
) -> None:
    ids = list(range(1001, 1301))
    await add_chats(sessions, ids)
    blocked, gone, flaky, limited, broken = ids[:10], ids[10], ids[20], ids[30:35], ids[40]
    for chat in blocked:
        fake.block(chat)
    fake.fail_next(gone, 1, code=400, description="chat not found")
    fake.fail_next(flaky, 1, code=502)
    for chat in limited:
        fake.fail_next(chat, 1, code=429, retry_after=1)
    fake.fail_next(broken, 1, code=400, description="can't parse entities")
    cid = await broadcast_to_all(sessions)
    w = worker(sessions, fake)
    counts = await run_until_done(w, sessions, cid)
    assert counts == {"sent": 300 - 12, "blocked": 11, "failed": 1}
    per_chat = Counter(m["chat_id"] for m in fake.sent() if m.get("outgoing", True))
    for chat in ids:
        expected = 0 if chat in blocked or chat in (gone, broken) else 1
        assert per_chat.get(chat, 0) == expected, chat
    async with sessions() as session:
        rows = {r.chat_id: r for r in await session.scalars(select(Outbox).where(Outbox.campaign_id == cid))}
        assert rows[flaky].status == "sent" and rows[flaky].attempts == 2
        assert all(rows[c].status == "sent" for c in limited)
        assert "can't parse entities" in (rows[broken].last_error or "")
        assert "chat not found" in (rows[gone].last_error or "")
        assert all(rows[c].message_id for c in ids if rows[c].status == "sent")
        marked = set(await session.scalars(select(Chat.id).where(Chat.blocked_at.is_not(None))))
        assert marked == {*blocked, gone}
        assert (await session.get(Campaign, cid)).status == "done"  # type: ignore[union-attr]


async def test_stop_releases_what_was_not_sent(
    sessions: async_sessionmaker[AsyncSession], fake: FakeTelegram
) -> None:
    ids = list(range(1, 201))
    await add_chats(sessions, ids)
    cid = await broadcast_to_all(sessions)
    w = DeliveryWorker(sessions, BotApi(fake.token, fake.base_url), rate=40, idle_poll=0.1)
    w.start()
    await asyncio.sleep(1.0)
    await w.stop()
    await w.api.aclose()
    async with sessions() as session:
        counts = await campaign_counts(session, cid)
        # Nothing is held by the stopped worker: the rest is due now for the next one.
        left = await claim(session, "next", limit=1000, lease=30)
    sent = len(fake.sent())
    assert counts["sent"] == sent and 0 < sent < 200
    assert len(left) == 200 - sent and all(r.attempts == 1 for r in left)


async def test_a_dead_workers_rows_are_sent_after_its_lease(
    sessions: async_sessionmaker[AsyncSession], fake: FakeTelegram
) -> None:
    ids = list(range(1, 51))
    await add_chats(sessions, ids)
    cid = await broadcast_to_all(sessions)
    async with sessions() as session:
        await claim(session, "dead", limit=20, lease=1.0)  # claimed, then the process "died"
        await session.commit()
    w = worker(sessions, fake)
    counts = await run_until_done(w, sessions, cid)
    assert counts == {"sent": 50}
    assert sorted(m["chat_id"] for m in fake.sent()) == ids


async def test_paced_sending_respects_the_rate(
    sessions: async_sessionmaker[AsyncSession], fake: FakeTelegram
) -> None:
    fake.set_rate_limit(global_per_sec=30, per_chat_per_sec=1, group_per_min=20)
    await add_chats(sessions, list(range(1, 91)))
    cid = await broadcast_to_all(sessions)
    w = DeliveryWorker(sessions, BotApi(fake.token, fake.base_url), rate=30, idle_poll=0.1)
    counts = await run_until_done(w, sessions, cid)
    assert counts == {"sent": 90}
    # The in-process fake shares the GIL with the worker, so timing jitters; bench/ measures the real rate.
    assert fake.stats.too_many_requests <= 3
