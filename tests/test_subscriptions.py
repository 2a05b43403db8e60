"""The scheduler tick on SQLite and PostgreSQL with a controllable clock: digests across zones,
DST days, downtime catch-up, one per day, topic filters, blocked chats, breaking cards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.feeds import import_from
from storage.chats import mark_blocked, touch_chat
from storage.models import BreakingPush, Campaign, Outbox, Subscription
from storage.subscriptions import (
    detect_breaking,
    enqueue_due_digests,
    ensure_subscription,
    release_breaking,
    reschedule,
)
from tests.feeds import feed, thread

Sessions = async_sessionmaker[AsyncSession]
GRACE = timedelta(hours=3)
T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday in winter


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Days after T0, in UTC."""
    return T0 + timedelta(days=day, hours=hour, minutes=minute)


def top_feed(*slugs: str, generated_at: str = "2026-01-04T12:00:00Z", **per: dict[str, Any]) -> bytes:
    return feed(
        *(thread(s, rank=i + 1, **per.get(s, {})) for i, s in enumerate(slugs)), generated_at=generated_at
    )


async def load(sessions: Sessions, tmp_path: Path, document: bytes) -> None:
    path = tmp_path / f"feed-{abs(hash(document))}.json"
    path.write_bytes(document)
    await import_from(sessions, str(path))


async def subscribe(
    sessions: Sessions, chat_id: int, time: str, tz: str, *, now: datetime, **fields: Any
) -> None:
    hours, minutes = (int(x) for x in time.split(":"))
    async with sessions() as session:
        await touch_chat(session, chat_id, chat_type="private" if chat_id > 0 else "group")
        sub = await ensure_subscription(session, chat_id, now=now)
        sub.digest_minute, sub.timezone, sub.active = hours * 60 + minutes, tz, True
        for key, value in fields.items():
            setattr(sub, key, value)
        reschedule(sub, now=now)
        await session.commit()


async def tick(sessions: Sessions, now: datetime) -> list[tuple[int, dict[str, Any]]]:
    """One tick; the digests it queued as (chat id, payload)."""
    async with sessions() as session:
        report = await enqueue_due_digests(session, now=now, grace=GRACE)
        await session.commit()
        rows = await session.execute(
            select(Outbox.chat_id, Outbox.payload, Campaign.payload)
            .join(Campaign, Campaign.id == Outbox.campaign_id)
            .where(Outbox.campaign_id.in_(report.campaign_ids))
        )
        return sorted((c, own or shared) for c, own, shared in rows)


async def run_ticks(
    sessions: Sessions, start: datetime, end: datetime, step: timedelta
) -> list[tuple[datetime, int]]:
    sent = []
    now = start
    while now <= end:
        sent += [(now, chat) for chat, _ in await tick(sessions, now)]
        now += step
    return sent


def titles(payload: dict[str, Any]) -> list[str]:
    return [b["text"].split(". ", 1)[1] for row in payload["buttons"] for b in row]


async def test_digests_come_due_in_each_zone_at_local_time(sessions: Sessions, tmp_path: Path) -> None:
    await load(sessions, tmp_path, top_feed("a", "b", "c", "d", "e", "f"))
    now = at(0, 0)
    await subscribe(sessions, 1, "07:30", "Europe/Berlin", now=now)  # 06:30 UTC
    await subscribe(sessions, 2, "07:30", "America/New_York", now=now)  # 12:30 UTC
    await subscribe(sessions, 3, "07:30", "Asia/Tokyo", now=now)  # 22:30 UTC the day before: tomorrow
    await subscribe(sessions, 4, "07:30", "UTC+05:30", now=now)  # 02:00 UTC
    assert await tick(sessions, at(0, 1, 59)) == []
    assert [c for c, _ in await tick(sessions, at(0, 2))] == [4]
    assert [c for c, _ in await tick(sessions, at(0, 6, 30))] == [1]
    assert [c for c, _ in await tick(sessions, at(0, 12, 31))] == [2]
    assert [c for c, _ in await tick(sessions, at(0, 22, 30))] == [3]
    assert [c for c, _ in await tick(sessions, at(1, 2, 0))] == [4], "and again the next day"


async def test_a_digest_is_one_message_with_a_button_per_thread(sessions: Sessions, tmp_path: Path) -> None:
    await load(sessions, tmp_path, top_feed("a", "b", "c", "d", "e", "f", "g"))
    await subscribe(sessions, 1, "08:00", "UTC", now=at(0, 0), size=3)
    ((_chat, payload),) = await tick(sessions, at(0, 8))
    assert payload["type"] == "text" and "Your daily digest" in payload["html"]
    assert titles(payload) == ["Story a", "Story b", "Story c"]
    assert "1. NEW" in payload["html"] and "What happened in a." in payload["html"]
    assert all(b["data"].startswith("c:") for row in payload["buttons"] for b in row), "buttons open cards"


DST_DAYS = [("Europe/Berlin", 2026, 3, 29), ("Europe/Berlin", 2026, 10, 25),
            ("America/New_York", 2026, 3, 8), ("America/New_York", 2026, 11, 1)]  # fmt: skip


async def test_dst_start_and_end_neither_skip_nor_double(sessions: Sessions, tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    await load(sessions, tmp_path, top_feed("a", "b", "c", "d"))
    for i, (tz, y, m, d) in enumerate(DST_DAYS):
        change = datetime(y, m, d, tzinfo=UTC)
        start, end = change - timedelta(days=2), change + timedelta(days=2)
        chat_a, chat_b = 100 + 2 * i, 101 + 2 * i
        await subscribe(sessions, chat_a, "07:30", tz, now=start)
        await subscribe(sessions, chat_b, "02:30", tz, now=start)  # the skipped / doubled hour
        sent = await run_ticks(sessions, start, end, timedelta(minutes=15))
        zone = ZoneInfo(tz)
        for chat in (chat_a, chat_b):
            days = [t.astimezone(zone).date() for t, c in sent if c == chat]
            assert len(days) == len(set(days)) == 4, (tz, chat, sent)
        local_a = {t.astimezone(zone).strftime("%H:%M") for t, c in sent if c == chat_a}
        assert local_a == {"07:30"}, "the same local time on both sides of the change"


async def test_downtime_catch_up_once_within_the_grace(sessions: Sessions, tmp_path: Path) -> None:
    await load(sessions, tmp_path, top_feed("a", "b", "c"))
    await subscribe(sessions, 1, "07:00", "UTC", now=at(0, 0))
    await subscribe(sessions, 2, "07:00", "UTC", now=at(0, 0))
    # The bot was down from 06:00 to 09:30: 2.5 hours late is within the grace.
    assert [c for c, _ in await tick(sessions, at(0, 9, 30))] == [1, 2]
    assert await tick(sessions, at(0, 9, 31)) == [], "not twice"
    # Down from 06:00 the next day until 11:00: 4 hours late, skipped, and tomorrow's still comes.
    assert await tick(sessions, at(1, 11)) == []
    assert await tick(sessions, at(1, 12)) == []
    assert [c for c, _ in await tick(sessions, at(2, 7))] == [1, 2]
    # Down for three days: only the latest missed day counts, and it is too old.
    assert await tick(sessions, at(5, 12)) == []
    assert [c for c, _ in await tick(sessions, at(6, 7))] == [1, 2]


async def test_one_digest_per_local_day_even_when_the_time_moves(sessions: Sessions, tmp_path: Path) -> None:
    await load(sessions, tmp_path, top_feed("a", "b", "c", "d", "e", "f", "g", "h"))
    await subscribe(sessions, 1, "07:00", "UTC", now=at(0, 0))
    assert len(await tick(sessions, at(0, 7))) == 1
    async with sessions() as session:
        sub = await session.get(Subscription, 1)
        assert sub is not None
        sub.digest_minute = 9 * 60  # later the same day
        reschedule(sub, now=at(0, 8))
        await session.commit()
        assert sub.next_due_at is not None and sub.next_due_at.replace(tzinfo=UTC) == at(1, 9)
    assert await tick(sessions, at(0, 9)) == []
    assert len(await tick(sessions, at(1, 9))) == 1


async def test_topics_and_memory_of_past_digests(sessions: Sessions, tmp_path: Path) -> None:
    tags = {"a": {"tags": ["sport"]}, "b": {"tags": ["war"]}, "c": {"tags": ["Space"]}, "d": {}, "e": {}}
    await load(sessions, tmp_path, top_feed("a", "b", "c", "d", "e", "f", "g", **tags))
    await subscribe(sessions, 1, "07:00", "UTC", now=at(0, 0), size=3, follow=["space"], mute=["war"])
    ((_, first),) = await tick(sessions, at(0, 7))
    assert titles(first) == ["Story c", "Story a", "Story d"], "followed first, muted out"
    ((_, second),) = await tick(sessions, at(1, 7))
    assert titles(second) == ["Story e", "Story f", "Story g"], "already sent: left out"
    # A new feed where g climbs to the top: it comes back; the rest was sent in the last digests.
    await load(
        sessions,
        tmp_path,
        top_feed("g", "a", "b", "c", "d", "e", "f", generated_at="2026-01-07T05:00:00Z", **tags),
    )
    ((_, third),) = await tick(sessions, at(2, 7))
    assert titles(third) == ["Story g"]


async def test_quiet_day_note_or_nothing(sessions: Sessions, tmp_path: Path) -> None:
    await load(sessions, tmp_path, top_feed("a", "b", "c"))
    await subscribe(sessions, 1, "07:00", "UTC", now=at(0, 0))
    await subscribe(sessions, 2, "07:00", "UTC", now=at(0, 0), quiet_note=False)
    assert len(await tick(sessions, at(0, 7))) == 2
    second = await tick(sessions, at(1, 7))
    assert [c for c, _ in second] == [1] and "quiet day" in second[0][1]["html"]
    assert await tick(sessions, at(1, 7, 1)) == []


async def test_blocked_and_paused_chats_get_nothing(sessions: Sessions, tmp_path: Path) -> None:
    await load(sessions, tmp_path, top_feed("a", "b", "c"))
    await subscribe(sessions, 1, "07:00", "UTC", now=at(0, 0))
    await subscribe(sessions, 2, "07:00", "UTC", now=at(0, 0), paused=True)
    await subscribe(sessions, 3, "07:00", "UTC", now=at(0, 0))
    async with sessions() as session:
        await mark_blocked(session, [3])
        await session.commit()
    assert [c for c, _ in await tick(sessions, at(0, 7))] == [1]
    async with sessions() as session:  # back with /start: digests resume the next day
        await touch_chat(session, 3, started=True)
        await session.commit()
    assert [c for c, _ in await tick(sessions, at(1, 7))] == [1, 3]


# --- breaking cards ---------------------------------------------------------------------------


async def breaking_tick(sessions: Sessions, now: datetime, cap: int = 3) -> list[tuple[int, str]]:
    async with sessions() as session:
        await detect_breaking(session, now=now, virality_jump=2.0)
        report = await release_breaking(session, now=now, daily_cap=cap)
        await session.commit()
        out = []
        for cid in report.campaign_ids:
            campaign = await session.get(Campaign, cid)
            assert campaign is not None and campaign.kind == "breaking"
            chats = await session.scalars(select(Outbox.chat_id).where(Outbox.campaign_id == cid))
            title = campaign.payload["html"].split("<b>", 2)[2].split("</b>")[0]
            out += [(c, title) for c in chats]
        return sorted(out)


async def test_breaking_cards_for_new_top_threads(sessions: Sessions, tmp_path: Path) -> None:
    await load(sessions, tmp_path, top_feed("a", "b", "c", "d", "e", "f"))
    await subscribe(sessions, 1, "07:00", "UTC", now=at(0, 0))
    await subscribe(sessions, 2, "07:00", "UTC", now=at(0, 0), breaking=False)
    await subscribe(sessions, 3, "07:00", "UTC", now=at(0, 0), mute=["volcano"])
    await subscribe(sessions, 4, "07:00", "UTC", now=at(0, 0), follow=["elections"])
    assert await breaking_tick(sessions, at(0, 10)) == [], "the first feed is not news"
    # f (a volcano) enters the top 3.
    viral = {"f": {"tags": ["volcano"]}, "e": {"virality": 4.0}}
    await load(
        sessions,
        tmp_path,
        top_feed("a", "f", "b", "c", "d", "e", generated_at="2026-01-05T11:00:00Z", **viral),
    )
    assert await breaking_tick(sessions, at(0, 11)) == [(1, "Story f")], "off, muted, follows other topics"
    # e's virality jumps by 2.5 (the setting is 2), far from the top 3.
    viral["e"] = {"virality": 6.5}
    await load(
        sessions,
        tmp_path,
        top_feed("a", "f", "b", "c", "d", "e", generated_at="2026-01-05T12:00:00Z", **viral),
    )
    assert await breaking_tick(sessions, at(0, 12)) == [(1, "Story e"), (3, "Story e")]
    # A thread about a followed topic reaches subscriber 4.
    viral["d"] = {"tags": ["Elections"]}
    await load(
        sessions,
        tmp_path,
        top_feed("d", "a", "f", "b", "c", "e", generated_at="2026-01-05T13:00:00Z", **viral),
    )
    assert await breaking_tick(sessions, at(0, 13)) == [(1, "Story d"), (3, "Story d"), (4, "Story d")]
    assert await breaking_tick(sessions, at(0, 14)) == [], "each feed is looked at once"


async def test_breaking_respects_quiet_hours_caps_and_never_repeats(
    sessions: Sessions, tmp_path: Path
) -> None:
    def later(order: str, generated_at: str) -> bytes:
        return top_feed(*order, generated_at=generated_at)

    await load(sessions, tmp_path, later("abcdefgh", "2026-01-04T12:00:00Z"))
    await subscribe(sessions, 1, "07:00", "UTC", now=at(0, 0))
    await subscribe(sessions, 2, "07:00", "UTC", now=at(0, 0), quiet_start=22 * 60, quiet_end=7 * 60)
    # 23:00 UTC: d enters the top 3; subscriber 2 is in quiet hours.
    await load(sessions, tmp_path, later("dabcefgh", "2026-01-05T23:00:00Z"))
    assert await breaking_tick(sessions, at(0, 23)) == [(1, "Story d")]
    assert await breaking_tick(sessions, at(1, 6, 59)) == []
    assert await breaking_tick(sessions, at(1, 7)) == [(2, "Story d")], "held until quiet hours end"
    # c comes back into the top 3 (news), then d leaves and enters again: never twice to a chat.
    await load(sessions, tmp_path, later("abcdefgh", "2026-01-06T08:00:00Z"))
    assert await breaking_tick(sessions, at(1, 8)) == [(1, "Story c"), (2, "Story c")]
    await load(sessions, tmp_path, later("dabcefgh", "2026-01-06T09:00:00Z"))
    assert await breaking_tick(sessions, at(1, 9)) == []
    # A cap of 2 a day: e, f and g enter at once. Today 1 had c (d was yesterday): one more, the
    # best-ranked; 2 had d and c today: none.
    await load(sessions, tmp_path, later("efgdabch", "2026-01-06T10:00:00Z"))
    assert await breaking_tick(sessions, at(1, 10), cap=2) == [(1, "Story e")]
    async with sessions() as session:
        pushes = {(p.chat_id, p.status) for p in await session.scalars(select(BreakingPush))}
        dropped = [
            p for p in await session.scalars(select(BreakingPush).where(BreakingPush.status == "dropped"))
        ]
    assert (1, "dropped") in pushes and len(dropped) == 5
