"""Importing feeds into the database (SQLite and PostgreSQL): upserts, rank changes, nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.feeds import import_from
from domain.figures import rank_change
from storage.feed import FeedError
from storage.models import Thread
from storage.threads import trending
from tests.feeds import feed, thread

Sessions = async_sessionmaker[AsyncSession]


async def load(sessions: Sessions, tmp_path: Path, document: bytes, name: str = "feed.json"):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(document)
    return await import_from(sessions, str(path))


async def changes(sessions: Sessions) -> dict[str, str]:
    async with sessions() as session:
        return {s.slug: rank_change(s.rank, s.previous_rank) for s in await trending(session, limit=100)}


async def test_import_reports_new_updated_and_skipped(sessions: Sessions, tmp_path: Path) -> None:
    report = await load(sessions, tmp_path, feed(thread("a", rank=1), thread("b", rank=2), thread("bad id")))
    assert report.new == ["a", "b"]
    assert [s.thread_id for s in report.skipped] == ["bad id"]

    again = await load(sessions, tmp_path, feed(thread("a", rank=1), thread("b", rank=2, title="B, edited")))
    assert again.new == []
    assert again.updated == ["b"]
    assert again.unchanged == ["a"]


async def test_the_same_feed_twice_changes_nothing(
    sessions: Sessions, tmp_path: Path, sample_feed_bytes: bytes
) -> None:
    first = await load(sessions, tmp_path, sample_feed_bytes)
    before = await changes(sessions)
    second = await load(sessions, tmp_path, sample_feed_bytes)
    assert len(second.unchanged) == len(first.new)
    assert second.new == second.updated == []
    assert await changes(sessions) == before
    assert set(before.values()) == {"NEW"}


async def test_change_in_rank_compares_with_the_previous_feed(sessions: Sessions, tmp_path: Path) -> None:
    await load(sessions, tmp_path, feed(thread("a", rank=1), thread("b", rank=2), thread("c", rank=3)))
    await load(
        sessions,
        tmp_path,
        feed(
            thread("c", rank=1),
            thread("b", rank=2),
            thread("a", rank=4),
            thread("d", rank=3),
            generated_at="2025-06-05T13:00:00Z",
        ),
    )
    assert await changes(sessions) == {"c": "▲2", "b": "=", "d": "NEW", "a": "▼3"}


async def test_a_thread_that_leaves_the_feed_is_kept_but_not_trending(
    sessions: Sessions, tmp_path: Path
) -> None:
    await load(sessions, tmp_path, feed(thread("a", rank=1), thread("b", rank=2)))
    report = await load(sessions, tmp_path, feed(thread("b", rank=1), generated_at="2025-06-06T00:00:00Z"))
    assert report.dropped == 1
    assert list(await changes(sessions)) == ["b"]
    async with sessions() as session:
        assert await session.scalar(select(func.count(Thread.id))) == 2


@pytest.mark.parametrize(
    "document",
    [
        b"{not json",
        b'{"version": 3, "generated_at": "2025-06-05T12:00:00Z", "threads": []}',
        b'{"version": 1}',
    ],
)
async def test_a_broken_feed_changes_no_stored_story(
    sessions: Sessions, tmp_path: Path, document: bytes
) -> None:
    await load(sessions, tmp_path, feed(thread("a", rank=1, title="Kept")))
    with pytest.raises(FeedError):
        await load(sessions, tmp_path, document, name="broken.json")
    async with sessions() as session:
        rows = (await session.scalars(select(Thread))).all()
    assert [(r.slug, r.title, r.in_feed) for r in rows] == [("a", "Kept", True)]


async def test_an_older_feed_than_the_stored_one_changes_nothing(sessions: Sessions, tmp_path: Path) -> None:
    await load(sessions, tmp_path, feed(thread("a", rank=1), generated_at="2025-06-05T12:00:00Z"))
    with pytest.raises(FeedError, match="older"):
        await load(sessions, tmp_path, feed(thread("z", rank=1), generated_at="2025-06-01T12:00:00Z"))
    assert list(await changes(sessions)) == ["a"]


async def test_a_missing_file_is_a_clear_error(sessions: Sessions, tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="cannot read"):
        await import_from(sessions, str(tmp_path / "nope.json"))
