"""The durable outbox: campaigns and one row per recipient, claimed in batches under a lease.

Repository functions take an AsyncSession; the caller commits where its unit of work ends.
All writes of many rows are set-based (INSERT ... SELECT) or executemany batches: a 100k campaign
never becomes 100k ORM objects.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, delete, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.chats import mark_blocked
from storage.models import Campaign, Chat, Outbox

INSERT_BATCH = 2000
# Core table for executemany UPDATEs: the ORM would turn a list of parameters into its own
# "bulk update by primary key" instead of one prepared statement run many times.
_OUTBOX = cast(Table, Outbox.__table__)

# Recipients: a SELECT of chat ids (runs inside the database), or chat ids / (chat id, payload) pairs
# from Python, streamed in batches.
Recipients = (
    Select[Any] | AsyncIterable[int | tuple[int, dict[str, Any]]] | Iterable[int | tuple[int, dict[str, Any]]]
)


def active_chats() -> Select[Any]:
    """Every chat that has started the bot and has not blocked it: the audience of a broadcast."""
    return select(Chat.id).where(Chat.blocked_at.is_(None))


async def count_recipients(session: AsyncSession, recipients: Select[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(recipients.subquery())) or 0)


async def create_campaign(
    session: AsyncSession,
    *,
    kind: str,
    payload: dict[str, Any],
    created_by: int | None = None,
    status: str = "draft",
) -> int:
    campaign = Campaign(
        kind=kind,
        status=status,
        payload=payload,
        created_by=created_by,
        created_at=datetime.now(UTC),
        total=0,
    )
    session.add(campaign)
    await session.flush()
    return campaign.id


async def _rows(
    recipients: AsyncIterable[int | tuple[int, dict[str, Any]]] | Iterable[int | tuple[int, dict[str, Any]]],
) -> AsyncIterable[tuple[int, dict[str, Any] | None]]:
    if isinstance(recipients, AsyncIterable):
        async for item in recipients:
            yield (item[0], item[1]) if isinstance(item, tuple) else (item, None)
    else:
        for item in recipients:
            yield (item[0], item[1]) if isinstance(item, tuple) else (item, None)


async def queue_campaign(session: AsyncSession, campaign_id: int, recipients: Recipients) -> int | None:
    """Write the outbox rows of a draft and make it active; None if it was not a draft (a second
    Confirm). Same transaction as the caller's: commit once, and the campaign is queued whole or not."""
    started = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == "draft")
        .values(status="active", queued_at=datetime.now(UTC))
    )
    if started.rowcount != 1:  # type: ignore[attr-defined]
        return None
    if isinstance(recipients, Select):
        ids = recipients.subquery()
        chat_id = next(iter(ids.c))
        rows = select(literal(campaign_id), chat_id, literal("pending"), literal(0), literal(0.0)).distinct()
        result = await session.execute(
            insert(Outbox).from_select(["campaign_id", "chat_id", "status", "attempts", "available_at"], rows)
        )
        total = int(result.rowcount or 0)  # type: ignore[attr-defined]
    else:
        total = 0
        batch: list[dict[str, Any]] = []
        stmt = insert(Outbox)
        async for chat, payload in _rows(recipients):
            batch.append(
                {
                    "campaign_id": campaign_id,
                    "chat_id": chat,
                    "status": "pending",
                    "attempts": 0,
                    "available_at": 0.0,
                    "payload": payload,
                }
            )
            if len(batch) >= INSERT_BATCH:
                await session.execute(stmt, batch)
                total += len(batch)
                batch = []
        if batch:
            await session.execute(stmt, batch)
            total += len(batch)
    await session.execute(update(Campaign).where(Campaign.id == campaign_id).values(total=total))
    return total


async def enqueue_campaign(
    session: AsyncSession,
    *,
    kind: str,
    payload: dict[str, Any],
    recipients: Recipients,
    created_by: int | None = None,
) -> int:
    """Create a campaign and queue it to every recipient, in the caller's transaction. Returns its id.

    `recipients`: a SELECT whose first column is the chat id (e.g. active_chats()), or chat ids, or
    (chat id, payload) pairs for per-recipient content. Commit after it; wake the worker
    (Services.delivery.wake()) to start at once instead of at its next poll.
    """
    campaign_id = await create_campaign(session, kind=kind, payload=payload, created_by=created_by)
    await queue_campaign(session, campaign_id, recipients)
    return campaign_id


# --- the worker's side ------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: int
    campaign_id: int
    chat_id: int
    attempts: int  # including this one
    payload: dict[str, Any] | None
    lease_until: float = 0.0  # epoch seconds: after it, the row is due again for any worker


async def claim(
    session: AsyncSession, worker: str, *, limit: int, lease: float, now: float | None = None
) -> list[Claimed]:
    """Take up to `limit` due rows for `worker` until now + lease.

    One UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING: atomic on SQLite (one writer at a time)
    and, with FOR UPDATE SKIP LOCKED, on PostgreSQL, where several processes then share the outbox
    without waiting on each other's rows. A row whose lease ran out is due again: a dead worker's
    claims come back by themselves.
    """
    now = time.time() if now is None else now
    due = (
        select(Outbox.id)
        .where(Outbox.status == "pending", Outbox.available_at <= now)
        .order_by(Outbox.available_at, Outbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id.in_(due.scalar_subquery()))
        .values(claimed_by=worker, available_at=now + lease, attempts=Outbox.attempts + 1)
        .returning(Outbox.id, Outbox.campaign_id, Outbox.chat_id, Outbox.attempts, Outbox.payload),
        execution_options={"synchronize_session": False},
    )
    rows = [
        Claimed(r.id, r.campaign_id, r.chat_id, r.attempts, r.payload, lease_until=now + lease)
        for r in result.all()
    ]
    rows.sort(key=lambda r: r.id)
    return rows


@dataclass(frozen=True)
class Result:
    id: int
    chat_id: int
    status: str  # sent, failed, blocked, or pending (retry)
    error: str | None = None
    message_id: int | None = None
    at: float = 0.0  # sent: when; retry: when it may be claimed again


async def write_results(session: AsyncSession, worker: str, results: Sequence[Result]) -> None:
    """Record a batch of outcomes with one executemany per kind; mark blocked chats.

    Only rows this worker still holds are written: if its lease ran out and another worker took a
    row, that worker's outcome is the one recorded. A retry never revives a cancelled row.
    """
    sent = [{"b_id": r.id, "b_mid": r.message_id, "b_at": r.at} for r in results if r.status == "sent"]
    final = [
        {"b_id": r.id, "b_status": r.status, "b_error": (r.error or "")[:500]}
        for r in results
        if r.status in ("failed", "blocked")
    ]
    retry = [
        {"b_id": r.id, "b_at": r.at, "b_error": (r.error or "")[:500]}
        for r in results
        if r.status == "pending"
    ]
    mine = (_OUTBOX.c.id == bindparam("b_id"), _OUTBOX.c.claimed_by == worker)
    if sent:
        await session.execute(
            update(_OUTBOX)
            .where(*mine)
            .values(status="sent", message_id=bindparam("b_mid"), sent_at=bindparam("b_at"), claimed_by=None),
            sent,
        )
    if final:
        await session.execute(
            update(_OUTBOX)
            .where(*mine)
            .values(status=bindparam("b_status"), last_error=bindparam("b_error"), claimed_by=None),
            final,
        )
    if retry:
        await session.execute(
            update(_OUTBOX)
            .where(*mine, _OUTBOX.c.status == "pending")
            .values(available_at=bindparam("b_at"), last_error=bindparam("b_error"), claimed_by=None),
            retry,
        )
    await mark_blocked(session, sorted({r.chat_id for r in results if r.status == "blocked"}))


async def release(session: AsyncSession, worker: str, ids: Sequence[int], *, at: float) -> None:
    """Give back claimed rows that were never sent (shutdown, a long 429 pause): due again at `at`,
    and the claim does not count as an attempt."""
    if ids:
        await session.execute(
            update(_OUTBOX)
            .where(
                _OUTBOX.c.id == bindparam("b_id"),
                _OUTBOX.c.claimed_by == worker,
                _OUTBOX.c.status == "pending",
            )
            .values(claimed_by=None, available_at=at, attempts=_OUTBOX.c.attempts - 1),
            [{"b_id": i} for i in ids],
        )


async def release_expired(session: AsyncSession, worker: str, rows: Sequence[Claimed]) -> None:
    """Give back rows whose lease ran out before they were sent — unless they were claimed again
    since (by this worker too): the lease end identifies this very claim."""
    if rows:
        await session.execute(
            update(_OUTBOX)
            .where(
                _OUTBOX.c.id == bindparam("b_id"),
                _OUTBOX.c.claimed_by == worker,
                _OUTBOX.c.status == "pending",
                _OUTBOX.c.available_at == bindparam("b_lease"),
            )
            .values(claimed_by=None, attempts=_OUTBOX.c.attempts - 1),
            [{"b_id": r.id, "b_lease": r.lease_until} for r in rows],
        )


# --- campaigns: progress, cancel, stats -------------------------------------------------------


async def campaign_counts(session: AsyncSession, campaign_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(Outbox.status, func.count()).where(Outbox.campaign_id == campaign_id).group_by(Outbox.status)
    )
    counts = {status: int(n) for status, n in rows.all()}
    if not counts:
        # Its rows may have been pruned: the counts were kept on the campaign.
        kept = await session.scalar(select(Campaign.final_counts).where(Campaign.id == campaign_id))
        counts = dict(kept or {})
    return counts


async def prune(session: AsyncSession, *, finished_before: datetime, campaigns: int = 50) -> int:
    """Delete the outbox rows of campaigns finished before `finished_before`, keeping their counts.

    A digest a day for every subscriber adds a row per subscriber per day; without pruning the
    outbox (and every claim's index) grows forever. At most `campaigns` campaigns per call, so one
    transaction stays short; returns the number of rows deleted.
    """
    ids = list(
        await session.scalars(
            select(Campaign.id)
            .where(
                Campaign.status.in_(("done", "cancelled")),
                Campaign.finished_at < finished_before,
                Campaign.final_counts.is_(None),
            )
            .order_by(Campaign.id)
            .limit(campaigns)
        )
    )
    deleted = 0
    for campaign_id in ids:
        counts = await campaign_counts(session, campaign_id)
        await session.execute(update(Campaign).where(Campaign.id == campaign_id).values(final_counts=counts))
        result = await session.execute(
            delete(Outbox).where(Outbox.campaign_id == campaign_id),
            execution_options={"synchronize_session": False},
        )
        deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return deleted


async def active_campaigns(session: AsyncSession) -> list[Campaign]:
    return list(
        await session.scalars(select(Campaign).where(Campaign.status == "active").order_by(Campaign.id))
    )


async def finish_campaign(session: AsyncSession, campaign_id: int) -> bool:
    """Mark an active campaign done once nothing is pending; True if this call did it."""
    pending = await session.scalar(
        select(func.count()).where(Outbox.campaign_id == campaign_id, Outbox.status == "pending")
    )
    if pending:
        return False
    done = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == "active")
        .values(status="done", finished_at=datetime.now(UTC))
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def cancel_campaign(session: AsyncSession, campaign_id: int) -> int:
    """Stop what is not yet sent; returns how many rows were cancelled. Sends already in flight still
    record their real outcome (write_results keys on the claim, not the status)."""
    result = await session.execute(
        update(Outbox)
        .where(Outbox.campaign_id == campaign_id, Outbox.status == "pending")
        .values(status="cancelled", last_error="cancelled by an admin"),
        execution_options={"synchronize_session": False},
    )
    await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(("active", "draft")))
        .values(status="cancelled", finished_at=datetime.now(UTC))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def cancelled_among(session: AsyncSession, campaign_ids: Iterable[int]) -> set[int]:
    ids = list(campaign_ids)
    if not ids:
        return set()
    rows = await session.scalars(
        select(Campaign.id).where(Campaign.id.in_(ids), Campaign.status == "cancelled")
    )
    return set(rows)


async def set_progress_message(
    session: AsyncSession, campaign_id: int, chat_id: int, message_id: int, *, text: str, at: float
) -> None:
    """The admin's progress message and the text it shows now (the worker edits only on a change)."""
    await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(progress_chat_id=chat_id, progress_message_id=message_id, progress_text=text, progress_at=at)
    )


async def claim_progress_edit(
    session: AsyncSession, campaign_id: int, text: str, *, now: float, min_interval: float
) -> bool:
    """True if this process should edit the progress message to `text`: the text changed, and the
    last edit is at least `min_interval` old (or `min_interval` is 0 for the final one). Atomic, so
    two workers never make the same edit (Telegram: "message is not modified")."""
    result = await session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            (Campaign.progress_text.is_(None)) | (Campaign.progress_text != text),
            (Campaign.progress_at.is_(None)) | (Campaign.progress_at <= now - min_interval),
        )
        .values(progress_text=text, progress_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class DeliveryStats:
    chats_active: int
    chats_blocked: int
    campaigns: list[tuple[int, str, str, int, dict[str, int]]]  # id, kind, status, total, counts
    outbox_pending: int
    sent_last_hour: int
    sent_last_day: int


async def delivery_stats(
    session: AsyncSession, *, now: float | None = None, recent: int = 5
) -> DeliveryStats:
    now = time.time() if now is None else now
    active = await session.scalar(select(func.count()).where(Chat.blocked_at.is_(None)))
    blocked = await session.scalar(select(func.count()).where(Chat.blocked_at.is_not(None)))
    pending = await session.scalar(select(func.count()).where(Outbox.status == "pending"))
    hour = await session.scalar(select(func.count()).where(Outbox.sent_at >= now - 3600))
    day = await session.scalar(select(func.count()).where(Outbox.sent_at >= now - 86400))
    campaigns = []
    for c in await session.scalars(
        select(Campaign).where(Campaign.status != "draft").order_by(Campaign.id.desc()).limit(recent)
    ):
        campaigns.append((c.id, c.kind, c.status, c.total, await campaign_counts(session, c.id)))
    return DeliveryStats(
        chats_active=int(active or 0),
        chats_blocked=int(blocked or 0),
        campaigns=campaigns,
        outbox_pending=int(pending or 0),
        sent_last_hour=int(hour or 0),
        sent_last_day=int(day or 0),
    )


async def latest_active_campaign(session: AsyncSession, created_by: int | None = None) -> int | None:
    stmt = select(Campaign.id).where(Campaign.status == "active")
    if created_by is not None:
        stmt = stmt.where(Campaign.created_by == created_by)
    return await session.scalar(stmt.order_by(Campaign.id.desc()).limit(1))


async def get_campaign(session: AsyncSession, campaign_id: int) -> Campaign | None:
    return await session.get(Campaign, campaign_id)
