"""Subscriptions, the digest tick and breaking cards: repository functions taking an AsyncSession.

The caller commits where its unit of work ends. The tick's writes are set-based or batched: due
subscribers are read in pages through the next_due_at index, digests are computed from one cache
of the top threads per tick (subscribers with the same settings share one computed digest), outbox
rows are inserted in batches with their per-row payload, and next_due_at is advanced with one
UPDATE per group of subscribers that share the same new values. Memory stays flat however many
subscribers are due.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, Text, bindparam, func, insert, select, text, tuple_, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from domain import render
from domain.delivery import text_payload
from domain.digest import (
    TOP_CANDIDATES,
    TopThread,
    breaking_candidates,
    norm_tags,
    remember,
    select_threads,
    wants_breaking,
)
from domain.schedule import Plan, first_due, local_day, plan, release_time, zone
from storage.models import BreakingPush, Campaign, Chat, Feed, Outbox, Subscription, Thread
from storage.outbox import INSERT_BATCH, create_campaign, enqueue_campaign
from storage.threads import get_story

log = logging.getLogger(__name__)

PAGE = 5000  # due subscribers read per query
IN_CHUNK = 900  # ids per "IN (...)" (SQLite allows 32k variables; PostgreSQL more)
TICK_LOCK = 0x5701_D16E  # PostgreSQL advisory lock: one tick at a time across processes
_SUBS = cast(Table, Subscription.__table__)
_PUSHES = cast(Table, BreakingPush.__table__)
_OUTBOX = cast(Table, Outbox.__table__)
_CAMPAIGNS = cast(Table, Campaign.__table__)
# Distinct digests kept per tick: each holds a rendered message of a few KiB, so the cache must not
# grow with the number of subscribers; past it, a digest is recomputed (cheap: the top threads are cached).
DIGEST_CACHE = 1000
MAX_DIGEST_CAMPAIGNS = 200  # distinct digests per tick with their own campaign (see _DigestOutbox)


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything here is stored and compared in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day_label(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


# --- one subscription -------------------------------------------------------------------------


async def get_subscription(session: AsyncSession, chat_id: int) -> Subscription | None:
    return await session.get(Subscription, chat_id)


async def ensure_subscription(session: AsyncSession, chat_id: int, *, now: datetime) -> Subscription:
    """The chat's row, created with the defaults (not yet active) if it has none. The chat row must
    exist (every update creates it first: bot.app.track_chat)."""
    sub = await session.get(Subscription, chat_id)
    if sub is None:
        sub = Subscription(
            chat_id=chat_id,
            active=False,
            paused=False,
            size=5,
            breaking=True,
            quiet_note=True,
            follow=[],
            mute=[],
            recent=[],
            created_at=now,
            updated_at=now,
        )
        session.add(sub)
        await session.flush()
    return sub


def reschedule(sub: Subscription, *, now: datetime) -> None:
    """Recompute the next digest instant after any change of time, zone, pause or subscription.

    One per local day still holds: a day that already had its digest is not given a second one
    by moving the time later."""
    sub.updated_at = now
    if not sub.active or sub.paused or sub.digest_minute is None or sub.timezone is None:
        sub.next_due_at = None
        return
    sub.next_due_at = first_due(now, sub.digest_minute, zone(sub.timezone), sub.last_digest_on)


def next_label(sub: Subscription, *, now: datetime) -> str | None:
    """'today at 07:30', 'tomorrow at 07:30' or 'on Wed 26 Nov at 07:30', in the subscriber's zone."""
    if sub.next_due_at is None or sub.timezone is None:
        return None
    tz = zone(sub.timezone)
    local = utc(sub.next_due_at).astimezone(tz)
    today = local_day(now, tz)
    when = (
        "today"
        if local.date() == today
        else "tomorrow"
        if local.date() == today + timedelta(days=1)
        else f"on {day_label(local.date())}"
    )
    return f"{when} at {local:%H:%M}"


# --- the per-tick cache of top threads --------------------------------------------------------


async def top_threads(session: AsyncSession, limit: int = TOP_CANDIDATES) -> list[TopThread]:
    rows = await session.execute(
        select(
            Thread.id,
            Thread.rank,
            Thread.previous_rank,
            Thread.title,
            Thread.summary,
            Thread.tags,
            Thread.virality,
            Thread.previous_virality,
        )
        .where(Thread.in_feed.is_(True), Thread.rank.is_not(None))
        .order_by(Thread.rank, Thread.id)
        .limit(limit)
    )
    return [
        TopThread(key, rank, prev, title, summary, norm_tags(tags or ()), vir, prev_vir)
        for key, rank, prev, title, summary, tags, vir, prev_vir in rows
    ]


async def tag_suggestions(session: AsyncSession, limit: int = 8) -> list[str]:
    """Topics of today's top threads, most common first: the buttons of the topics menu."""
    counts: dict[str, int] = defaultdict(int)
    for t in await top_threads(session, limit=20):
        for tag in t.tags:
            counts[tag] += 1
    return sorted(counts, key=lambda k: (-counts[k], k))[:limit]


# --- the digest tick --------------------------------------------------------------------------


@dataclass
class TickReport:
    queued: int = 0  # digest messages put in the outbox
    empty: int = 0  # due, nothing new, and the subscriber wants no quiet-day note
    skipped: int = 0  # too late (downtime beyond the grace), already had today's, or blocked
    campaign_ids: list[int] = field(default_factory=list)


@dataclass
class _Digest:
    content: tuple[Any, ...]  # what the message says: equal content, equal payload
    payload: dict[str, Any] | None
    recent: list[Any]


@dataclass
class _TickState:
    now: datetime
    grace: timedelta
    top: list[TopThread]
    report: TickReport
    plans: dict[tuple[str, int], Plan] = field(default_factory=dict)
    digests: dict[tuple[Any, ...], _Digest] = field(default_factory=dict)

    def plan_for(self, tz_name: str, minute: int) -> Plan:
        key = (tz_name, minute)
        found = self.plans.get(key)
        if found is None:
            found = self.plans[key] = plan(self.now, minute, zone(tz_name))
        return found

    def digest_for(
        self, day: date, size: int, follow: str, mute: str, recent: str, quiet_note: bool
    ) -> _Digest:
        """Subscribers with the same settings and memory get the same digest: computed once."""
        key = (day, size, follow, mute, recent, quiet_note)
        found = self.digests.get(key)
        if found is None:
            if len(self.digests) > DIGEST_CACHE:
                self.digests.clear()  # bounded, whatever the variety of settings
            past = json.loads(recent or "[]")
            chosen = select_threads(
                self.top,
                size=size,
                follow=json.loads(follow or "[]"),
                mute=json.loads(mute or "[]"),
                recent=past,
            )
            content = (day, tuple((t.key, t.rank, t.previous_rank) for t in chosen))
            if chosen:
                payload = text_payload(render.digest(day_label(day), chosen))
                found = _Digest(content, payload, remember(past, chosen))
            elif quiet_note:
                found = _Digest(content, text_payload(render.quiet_day(day_label(day))), past)
            else:
                found = _Digest(content, None, past)
            self.digests[key] = found
        return found


class _DigestOutbox:
    """Writes a tick's digests to the outbox: one campaign per distinct digest (its payload stored
    once on the campaign, rows carry only the chat), up to `max_campaigns`; digests beyond that go
    to one more campaign whose rows carry their own payload. Why: most subscribers share a digest
    with many others, and a 2 KB payload per row would make a 100k tick write 200 MB; the delivery
    worker also serialises a campaign's payload once instead of once per send."""

    def __init__(self, session: AsyncSession, now: datetime, max_campaigns: int) -> None:
        self.session, self.now, self.max_campaigns = session, now, max_campaigns
        self.campaigns: dict[tuple[Any, ...], int] = {}
        self.mixed: int | None = None
        self.totals: dict[int, int] = defaultdict(int)

    async def _campaign(self, digest: _Digest) -> tuple[int, dict[str, Any] | None]:
        found = self.campaigns.get(digest.content)
        if found is not None:
            return found, None
        assert digest.payload is not None
        if len(self.campaigns) < self.max_campaigns:
            found = await create_campaign(
                self.session, kind="digest", payload=digest.payload, status="active"
            )
            self.campaigns[digest.content] = found
            return found, None
        if self.mixed is None:
            placeholder = text_payload(render.plain("Your daily digest"))  # every row has its own
            self.mixed = await create_campaign(
                self.session, kind="digest", payload=placeholder, status="active"
            )
        return self.mixed, digest.payload

    async def write(self, rows: list[tuple[int, _Digest]]) -> None:
        shared: list[dict[str, Any]] = []
        own: list[dict[str, Any]] = []
        for chat_id, digest in rows:
            campaign_id, payload = await self._campaign(digest)
            self.totals[campaign_id] += 1
            row = {
                "campaign_id": campaign_id,
                "chat_id": chat_id,
                "status": "pending",
                "attempts": 0,
                "available_at": 0.0,
            }
            if payload is None:
                shared.append(row)
            else:
                own.append({**row, "payload": payload})
        for batch in (shared, own):
            for i in range(0, len(batch), INSERT_BATCH):
                await self.session.execute(
                    insert(_OUTBOX).values(available_at=0.0), batch[i : i + INSERT_BATCH]
                )

    async def finish(self) -> list[int]:
        if self.totals:
            await self.session.execute(
                update(_CAMPAIGNS)
                .where(_CAMPAIGNS.c.id == bindparam("b_id"))
                .values(total=bindparam("b_total"), queued_at=self.now),
                [{"b_id": cid, "b_total": n} for cid, n in self.totals.items()],
            )
        return sorted(self.totals)


async def _tick_lock(session: AsyncSession) -> bool:
    """PostgreSQL: one tick at a time across processes (released at commit). SQLite has one writer
    anyway: a second process's tick waits, then finds nothing due."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(TICK_LOCK))))


async def enqueue_due_digests(
    session: AsyncSession,
    *,
    now: datetime,
    grace: timedelta,
    page: int = PAGE,
    max_campaigns: int = MAX_DIGEST_CAMPAIGNS,
) -> TickReport:
    """Queue the digest of every subscriber whose time has come, and move each one's next_due_at to
    its next local day. One transaction (the caller commits): digests are queued and due times
    advanced together, or not at all, so nothing is sent twice or lost."""
    now = utc(now)
    report = TickReport()
    due = select(Subscription.chat_id).where(Subscription.next_due_at <= now).limit(1)
    if await session.scalar(due) is None or not await _tick_lock(session):
        return report
    state = _TickState(now=now, grace=grace, top=await top_threads(session), report=report)
    outbox = _DigestOutbox(session, now, max_campaigns)
    query = (
        select(
            Subscription.chat_id,
            Subscription.timezone,
            Subscription.digest_minute,
            Subscription.size,
            Subscription.next_due_at,
            sql_cast(Subscription.follow, Text),
            sql_cast(Subscription.mute, Text),
            sql_cast(Subscription.recent, Text),
            Subscription.quiet_note,
            Subscription.last_digest_on,
            Chat.blocked_at,
        )
        .join(Chat, Chat.id == Subscription.chat_id)
        .where(Subscription.next_due_at <= now)
        .order_by(Subscription.next_due_at, Subscription.chat_id)
        .limit(page)
    )
    after: tuple[datetime, int] | None = None
    while True:
        # Keyset pages: each page starts where the last ended, straight from the index (the rows
        # already advanced leave dead index entries behind on PostgreSQL until vacuum; an OFFSET or
        # a plain re-query would walk over them again on every page).
        page_query = query
        if after is not None:
            page_query = query.where(tuple_(Subscription.next_due_at, Subscription.chat_id) > tuple_(*after))
        rows = (await session.execute(page_query)).all()
        if not rows:
            break
        after = (rows[-1].next_due_at, rows[-1].chat_id)
        digests: list[tuple[int, _Digest]] = []
        sent: list[dict[str, Any]] = []
        moved: list[dict[str, Any]] = []
        for chat_id, tz_name, minute, size, _due, follow, mute, recent, quiet_note, last_on, blocked in rows:
            if tz_name is None or minute is None:  # cannot happen through the handlers: park it
                moved.append({"b_id": chat_id, "b_due": None})
                continue
            p = state.plan_for(tz_name, minute)
            if blocked is not None or not p.sendable(now, grace, last_on):
                # Blocked chats are left alone until they come back; late or done days are skipped.
                report.skipped += 1
                moved.append({"b_id": chat_id, "b_due": p.next_due})
                continue
            d = state.digest_for(p.day, size, follow, mute, recent, quiet_note)
            sent.append({"b_id": chat_id, "b_due": p.next_due, "b_day": p.day, "b_recent": d.recent})
            if d.payload is None:
                report.empty += 1
            else:
                report.queued += 1
                digests.append((chat_id, d))
        await outbox.write(digests)
        await _advance(session, sent, moved)
    report.campaign_ids = await outbox.finish()
    return report


async def _advance(session: AsyncSession, sent: list[dict[str, Any]], moved: list[dict[str, Any]]) -> None:
    """Move each subscriber's next_due_at (and, after a digest, its day and memory). SQLite: one
    statement run many times (executemany). PostgreSQL: one statement per page, the values passed
    as arrays (a round trip per row would dominate the tick)."""
    if session.get_bind().dialect.name == "postgresql":
        if sent:
            await session.execute(
                _PG_ADVANCE_SENT,
                {
                    "ids": [r["b_id"] for r in sent],
                    "dues": [r["b_due"] for r in sent],
                    "days": [r["b_day"] for r in sent],
                    "recents": [json.dumps(r["b_recent"]) for r in sent],
                },
            )
        if moved:
            await session.execute(
                _PG_ADVANCE, {"ids": [r["b_id"] for r in moved], "dues": [r["b_due"] for r in moved]}
            )
        return
    if sent:
        await session.execute(_ADVANCE_SENT, sent)
    if moved:
        await session.execute(_ADVANCE, moved)


_PG_ADVANCE_SENT = text(
    "UPDATE subscriptions AS s SET next_due_at = v.due, last_digest_on = v.day, recent = CAST(v.recent AS JSON) "
    "FROM unnest(CAST(:ids AS BIGINT[]), CAST(:dues AS TIMESTAMPTZ[]), CAST(:days AS DATE[]), "
    "CAST(:recents AS TEXT[])) AS v(id, due, day, recent) WHERE s.chat_id = v.id"
)
_PG_ADVANCE = text(
    "UPDATE subscriptions AS s SET next_due_at = v.due "
    "FROM unnest(CAST(:ids AS BIGINT[]), CAST(:dues AS TIMESTAMPTZ[])) AS v(id, due) WHERE s.chat_id = v.id"
)
_PG_INSERT_OUTBOX = text(
    "INSERT INTO outbox (campaign_id, chat_id, status, attempts, available_at, payload) "
    "SELECT v.campaign_id, v.chat_id, 'pending', 0, 0.0, CAST(v.payload AS JSON) "
    "FROM unnest(CAST(:campaigns AS INTEGER[]), CAST(:chats AS BIGINT[]), CAST(:payloads AS TEXT[])) "
    "AS v(campaign_id, chat_id, payload)"
)


async def _pg_insert_outbox(
    session: AsyncSession, shared: list[dict[str, Any]], own: list[dict[str, Any]]
) -> None:
    rows = shared + own
    if not rows:
        return
    payload_text: dict[int, str] = {}  # the same payload object is serialised once
    payloads: list[str | None] = [None] * len(shared)
    for r in own:
        key = id(r["payload"])
        if key not in payload_text:
            payload_text[key] = json.dumps(r["payload"], ensure_ascii=False)
        payloads.append(payload_text[key])
    await session.execute(
        _PG_INSERT_OUTBOX,
        {
            "campaigns": [r["campaign_id"] for r in rows],
            "chats": [r["chat_id"] for r in rows],
            "payloads": payloads,
        },
    )


_ADVANCE_SENT = (
    update(_SUBS)
    .where(_SUBS.c.chat_id == bindparam("b_id"))
    .values(next_due_at=bindparam("b_due"), last_digest_on=bindparam("b_day"), recent=bindparam("b_recent"))
)
_ADVANCE = update(_SUBS).where(_SUBS.c.chat_id == bindparam("b_id")).values(next_due_at=bindparam("b_due"))


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i : i + IN_CHUNK] for i in range(0, len(ids), IN_CHUNK)]


# --- breaking cards ---------------------------------------------------------------------------


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def detect_breaking(
    session: AsyncSession, *, now: datetime, virality_jump: float, page: int = PAGE
) -> int:
    """After a new feed: hold a breaking card for each eligible subscriber and each thread that
    newly entered the top 3 (or whose virality jumped). Returns how many were recorded.

    Each feed is looked at once (claimed by setting breaking_checked_at), whichever process
    imported it: the bot's refresh job or `storybot import`. A (chat, thread) pair that already has
    a record is left alone: the same thread is never pushed twice to a chat.
    """
    now = utc(now)
    claimed = await session.execute(
        update(Feed).where(Feed.breaking_checked_at.is_(None)).values(breaking_checked_at=now)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return 0
    if int(await session.scalar(select(func.count(Feed.id))) or 0) < 2:
        return 0  # the first feed ever: nothing "newly" entered anything
    candidates = breaking_candidates(await top_threads(session), virality_jump=_jump(virality_jump))
    if not candidates:
        return 0
    insert = _insert(session)
    wanted_cache: dict[tuple[str, str], list[TopThread]] = {}
    recorded, last = 0, None
    while True:
        query = (
            select(
                Subscription.chat_id,
                Subscription.timezone,
                Subscription.quiet_start,
                Subscription.quiet_end,
                sql_cast(Subscription.follow, Text),
                sql_cast(Subscription.mute, Text),
            )
            .join(Chat, Chat.id == Subscription.chat_id)
            .where(
                Subscription.active.is_(True),
                Subscription.paused.is_(False),
                Subscription.breaking.is_(True),
                Subscription.timezone.is_not(None),
                Chat.blocked_at.is_(None),
            )
            .order_by(Subscription.chat_id)
            .limit(page)
        )
        if last is not None:
            query = query.where(Subscription.chat_id > last)
        rows = (await session.execute(query)).all()
        if not rows:
            return recorded
        values: list[dict[str, Any]] = []
        for chat_id, tz_name, quiet_start, quiet_end, follow, mute in rows:
            key = (follow or "[]", mute or "[]")
            wanted = wanted_cache.get(key)
            if wanted is None:
                f, m = json.loads(key[0]), json.loads(key[1])
                wanted = wanted_cache[key] = [
                    t for t in candidates if wants_breaking(t.tags, follow=f, mute=m)
                ]
            if not wanted:
                continue
            release = release_time(now, zone(tz_name or "UTC"), quiet_start, quiet_end)
            values.extend(
                {
                    "chat_id": chat_id,
                    "thread_id": t.key,
                    "status": "held",
                    "release_at": release,
                    "created_at": now,
                }
                for t in wanted
            )
        if values:
            result = await session.execute(insert(_PUSHES).on_conflict_do_nothing(), values)
            recorded += max(0, result.rowcount or 0)  # type: ignore[attr-defined]
        last = rows[-1][0]


def _jump(value: float) -> float:
    return value if value > 0 else float("inf")


@dataclass
class BreakingReport:
    sent: int = 0
    dropped: int = 0
    campaign_ids: list[int] = field(default_factory=list)


async def release_breaking(
    session: AsyncSession, *, now: datetime, daily_cap: int, page: int = PAGE
) -> BreakingReport:
    """Queue the held breaking cards whose time has come (quiet hours over), at most `daily_cap`
    per subscriber per local day. A card over the cap, for a thread gone from the feed, or for a
    chat that paused, unsubscribed, turned breaking cards off or blocked the bot is dropped."""
    now = utc(now)
    report = BreakingReport()
    query = (
        select(
            BreakingPush.chat_id,
            BreakingPush.thread_id,
            Subscription.timezone,
            Subscription.active & ~Subscription.paused & Subscription.breaking,
            Chat.blocked_at,
            Thread.in_feed,
        )
        .join(Subscription, Subscription.chat_id == BreakingPush.chat_id)
        .join(Chat, Chat.id == BreakingPush.chat_id)
        .join(Thread, Thread.id == BreakingPush.thread_id)
        .where(BreakingPush.status == "held", BreakingPush.release_at <= now)
        .order_by(BreakingPush.chat_id, Thread.rank, BreakingPush.thread_id)
        .limit(page)
    )
    while True:
        rows = (await session.execute(query)).all()
        if not rows:
            return report
        days = {
            chat_id: local_day(now, zone(tz_name)) for chat_id, _t, tz_name, *_ in rows if tz_name is not None
        }
        already: dict[int, int] = defaultdict(int)
        for chunk in _chunks(sorted(days)):
            counted = await session.execute(
                select(BreakingPush.chat_id, BreakingPush.local_day, func.count())
                .where(
                    BreakingPush.chat_id.in_(chunk),
                    BreakingPush.status == "sent",
                    BreakingPush.local_day >= min(days.values()),
                )
                .group_by(BreakingPush.chat_id, BreakingPush.local_day)
            )
            for chat_id, day, n in counted:
                if day == days.get(chat_id):
                    already[chat_id] += int(n)
        by_thread: dict[int, list[int]] = defaultdict(list)
        sent_rows, dropped_rows = [], []
        for chat_id, thread_id, _tz, wants, blocked, in_feed in rows:
            if not wants or blocked is not None or not in_feed or already[chat_id] >= daily_cap:
                dropped_rows.append({"b_chat": chat_id, "b_thread": thread_id})
                continue
            already[chat_id] += 1
            by_thread[thread_id].append(chat_id)
            sent_rows.append({"b_chat": chat_id, "b_thread": thread_id, "b_day": days[chat_id]})
        for thread_id, chats in by_thread.items():
            story = await get_story(session, thread_id)
            if story is None:
                continue
            payload = text_payload(render.breaking_card(story))
            report.campaign_ids.append(
                await enqueue_campaign(session, kind="breaking", payload=payload, recipients=chats)
            )
        mine = (_PUSHES.c.chat_id == bindparam("b_chat"), _PUSHES.c.thread_id == bindparam("b_thread"))
        if sent_rows:
            await session.execute(
                update(_PUSHES).where(*mine).values(status="sent", local_day=bindparam("b_day")), sent_rows
            )
        if dropped_rows:
            await session.execute(update(_PUSHES).where(*mine).values(status="dropped"), dropped_rows)
        report.sent += len(sent_rows)
        report.dropped += len(dropped_rows)
