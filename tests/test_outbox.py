"""The outbox on SQLite and PostgreSQL: one-transaction enqueue, leased claims, batch outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import jobs
from bot.config import load_settings
from storage.models import Campaign, Chat, Outbox
from storage.outbox import (
    Result,
    active_chats,
    campaign_counts,
    cancel_campaign,
    claim,
    enqueue_campaign,
    finish_campaign,
    prune,
    release,
    write_results,
)

PAYLOAD = {"type": "text", "html": "<b>News</b>", "buttons": []}


async def add_chats(session: AsyncSession, ids: list[int], *, blocked: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    now = datetime.now(UTC)
    await session.execute(
        insert(Chat),
        [
            {
                "id": i,
                "type": "private" if i > 0 else "group",
                "started_at": now,
                "last_seen_at": now,
                "blocked_at": now if i in blocked else None,
            }
            for i in ids
        ],
    )
    await session.commit()


async def test_enqueue_from_a_query_writes_every_active_chat_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await add_chats(session, [*range(1, 501), -5], blocked={3, 4})
        cid = await enqueue_campaign(
            session, kind="broadcast", payload=PAYLOAD, recipients=active_chats(), created_by=9
        )
        await session.commit()
        campaign = await session.get(Campaign, cid)
        assert campaign is not None and campaign.status == "active" and campaign.total == 499
        assert await campaign_counts(session, cid) == {"pending": 499}
        chats = set(await session.scalars(select(Outbox.chat_id).where(Outbox.campaign_id == cid)))
        assert 3 not in chats and -5 in chats


async def test_enqueue_streams_ids_with_per_row_payloads(sessions: async_sessionmaker[AsyncSession]) -> None:
    async def recipients():  # type: ignore[no-untyped-def]
        for i in range(1, 4501):
            yield (i, {"type": "text", "html": f"digest {i}"}) if i % 2 else i

    async with sessions() as session:
        cid = await enqueue_campaign(session, kind="digest", payload=PAYLOAD, recipients=recipients())
        await session.commit()
        assert (await session.get(Campaign, cid)).total == 4500  # type: ignore[union-attr]
        rows = await claim(session, "w1", limit=3, lease=30, now=1000.0)
        assert [r.payload for r in rows] == [
            {"type": "text", "html": "digest 1"},
            None,
            {"type": "text", "html": "digest 3"},
        ]


async def test_a_rolled_back_enqueue_leaves_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        await enqueue_campaign(session, kind="broadcast", payload=PAYLOAD, recipients=range(1, 100))
        await session.rollback()
        assert await session.scalar(select(func.count()).select_from(Outbox)) == 0
        assert await session.scalar(select(func.count()).select_from(Campaign)) == 0


async def test_claims_never_overlap_and_lapsed_leases_come_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await enqueue_campaign(session, kind="broadcast", payload=PAYLOAD, recipients=range(1, 251))
        await session.commit()
    async with sessions() as a, sessions() as b:
        first = await claim(a, "A", limit=100, lease=30, now=1000.0)
        await a.commit()
        second = await claim(b, "B", limit=100, lease=100, now=1000.0)
        await b.commit()
        assert len(first) == len(second) == 100
        assert not {r.id for r in first} & {r.id for r in second}
        assert all(r.attempts == 1 for r in first)
        # A is gone (no outcome written). Before its lease ends its rows stay with it...
        rest = await claim(b, "B", limit=500, lease=100, now=1010.0)
        assert len(rest) == 50
        # ...after it, they are due again, and count the lost try.
        again = await claim(b, "B", limit=500, lease=30, now=1031.0)
        await b.commit()
        assert {r.id for r in again} == {r.id for r in first}
        assert all(r.attempts == 2 for r in again)


async def test_outcomes_are_written_in_batches_and_blocked_chats_marked(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await add_chats(session, [1, 2, 3, 4])
        cid = await enqueue_campaign(session, kind="broadcast", payload=PAYLOAD, recipients=active_chats())
        await session.commit()
        rows = {r.chat_id: r for r in await claim(session, "W", limit=10, lease=30, now=1000.0)}
        await session.commit()
        await write_results(
            session,
            "W",
            [
                Result(rows[1].id, 1, "sent", message_id=11, at=1001.0),
                Result(rows[2].id, 2, "blocked", error="403 Forbidden: bot was blocked by the user"),
                Result(rows[3].id, 3, "failed", error="400 Bad Request: can't parse entities"),
                Result(rows[4].id, 4, "pending", error="502 Bad Gateway", at=1005.0),
            ],
        )
        await session.commit()
        got = {r.chat_id: r for r in await session.scalars(select(Outbox))}
        assert (got[1].status, got[1].message_id, got[1].sent_at) == ("sent", 11, 1001.0)
        assert got[2].status == "blocked" and "blocked by the user" in (got[2].last_error or "")
        assert got[3].status == "failed" and "parse entities" in (got[3].last_error or "")
        assert got[4].status == "pending" and got[4].available_at == 1005.0 and got[4].claimed_by is None
        assert (await session.get(Chat, 2)).blocked_at is not None  # type: ignore[union-attr]
        assert (await session.get(Chat, 1)).blocked_at is None  # type: ignore[union-attr]
        assert await claim(session, "W", limit=10, lease=30, now=1004.0) == []
        retried = await claim(session, "W", limit=10, lease=30, now=1005.0)
        assert [r.chat_id for r in retried] == [4] and retried[0].attempts == 2
        await write_results(session, "W", [Result(retried[0].id, 4, "sent", message_id=12, at=1006.0)])
        assert await finish_campaign(session, cid)
        await session.commit()
        assert (await session.get(Campaign, cid)).status == "done"  # type: ignore[union-attr]


async def test_a_worker_whose_lease_was_taken_over_does_not_overwrite(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await enqueue_campaign(session, kind="broadcast", payload=PAYLOAD, recipients=[1])
        (row,) = await claim(session, "old", limit=1, lease=1, now=1000.0)
        (again,) = await claim(session, "new", limit=1, lease=30, now=1002.0)
        await write_results(session, "old", [Result(row.id, 1, "failed", error="late")])
        await write_results(session, "new", [Result(again.id, 1, "sent", message_id=5, at=1003.0)])
        await session.commit()
        stored = await session.get(Outbox, row.id)
        assert stored is not None and stored.status == "sent" and stored.last_error is None


async def test_release_gives_rows_back_without_counting_a_try(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await enqueue_campaign(session, kind="broadcast", payload=PAYLOAD, recipients=[1, 2])
        rows = await claim(session, "W", limit=10, lease=30, now=1000.0)
        await release(session, "W", [r.id for r in rows], at=1000.0)
        again = await claim(session, "W", limit=10, lease=30, now=1000.0)
        assert sorted(r.attempts for r in again) == [1, 1]


async def test_cancel_stops_pending_rows_but_keeps_real_outcomes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        cid = await enqueue_campaign(session, kind="broadcast", payload=PAYLOAD, recipients=range(1, 11))
        rows = await claim(session, "W", limit=2, lease=30, now=1000.0)
        assert await cancel_campaign(session, cid) == 10
        # A send that was in flight at the cancel still records what happened; a retry stays cancelled.
        await write_results(
            session,
            "W",
            [Result(rows[0].id, 1, "sent", message_id=1, at=1.0), Result(rows[1].id, 2, "pending", at=2.0)],
        )
        await session.commit()
        assert await campaign_counts(session, cid) == {"sent": 1, "cancelled": 9}
        assert (await session.get(Campaign, cid)).status == "cancelled"  # type: ignore[union-attr]
        assert await claim(session, "W", limit=10, lease=30, now=5000.0) == []


@pytest.mark.parametrize("n", [3000])
async def test_claim_batches_cover_a_large_campaign_exactly_once(
    sessions: async_sessionmaker[AsyncSession], n: int
) -> None:
    async with sessions() as session:
        await enqueue_campaign(session, kind="broadcast", payload=PAYLOAD, recipients=range(1, n + 1))
        await session.commit()
        seen: list[int] = []
        while rows := await claim(session, "W", limit=700, lease=30, now=1000.0):
            seen += [r.chat_id for r in rows]
            await write_results(session, "W", [Result(r.id, r.chat_id, "sent", at=1.0) for r in rows])
        await session.commit()
        assert sorted(seen) == list(range(1, n + 1))


async def test_old_finished_campaigns_lose_their_rows_but_keep_their_counts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    async with sessions() as session:
        old = await enqueue_campaign(session, kind="digest", payload=PAYLOAD, recipients=range(1, 6))
        recent = await enqueue_campaign(session, kind="broadcast", payload=PAYLOAD, recipients=range(1, 4))
        running = await enqueue_campaign(session, kind="broadcast", payload=PAYLOAD, recipients=range(1, 3))
        rows = await claim(session, "W", limit=100, lease=30, now=1000.0)
        await write_results(
            session,
            "W",
            [
                Result(r.id, r.chat_id, "blocked" if r.chat_id == 5 else "sent", message_id=1, at=2.0)
                for r in rows
                if r.campaign_id != running
            ],
        )
        assert await finish_campaign(session, old) and await finish_campaign(session, recent)
        old_campaign = await session.get(Campaign, old)
        assert old_campaign is not None
        old_campaign.finished_at = now - timedelta(days=40)
        await session.commit()
        before = await campaign_counts(session, old)

        assert await prune(session, finished_before=now - timedelta(days=30)) == 5
        await session.commit()
        assert await prune(session, finished_before=now - timedelta(days=30)) == 0
        left = await session.scalar(select(func.count()).where(Outbox.campaign_id == old))
        assert left == 0
        assert before == {"sent": 4, "blocked": 1}
        assert await campaign_counts(session, old) == before  # /stats still shows what happened
        assert await campaign_counts(session, recent) == {"sent": 3}
        assert await campaign_counts(session, running) == {"pending": 2}


@pytest.mark.parametrize(("keep_days", "left"), [("30", 0), ("60", 3), ("0", 3)])
async def test_the_hourly_job_prunes_what_is_older_than_outbox_keep_days(
    sessions: async_sessionmaker[AsyncSession], keep_days: str, left: int
) -> None:
    now = datetime.now(UTC)
    async with sessions() as session:
        cid = await enqueue_campaign(session, kind="broadcast", payload=PAYLOAD, recipients=range(1, 4))
        rows = await claim(session, "W", limit=10, lease=30, now=1000.0)
        await write_results(
            session, "W", [Result(r.id, r.chat_id, "sent", message_id=1, at=2.0) for r in rows]
        )
        await finish_campaign(session, cid)
        campaign = await session.get(Campaign, cid)
        assert campaign is not None
        campaign.finished_at = now - timedelta(days=45)
        await session.commit()
    services = SimpleNamespace(
        settings=load_settings({"OUTBOX_KEEP_DAYS": keep_days}, dotenv=None),
        clock=lambda: now,
        sessions=sessions,
    )
    context: Any = SimpleNamespace(services=services)
    await jobs.prune_outbox(context)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).where(Outbox.campaign_id == cid)) == left
        assert await campaign_counts(session, cid) == {"sent": 3}
