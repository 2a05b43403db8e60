"""Upserting a parsed feed into the database in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.feed import FeedError, ParsedFeed, ParsedThread, Skipped
from storage.models import Feed, RankHistory, Thread

_CHUNK = 500


@dataclass
class ImportReport:
    generated_at: datetime
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    dropped: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    flagged: list[tuple[str, str]] = field(default_factory=list)
    # Threads that entered the top 3 or whose virality jumped: candidates for breaking cards.
    changed_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"feed of {self.generated_at.isoformat()}: {len(self.new)} new, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.skipped)} skipped, {self.dropped} no longer trending"
        )


def _content(thread: ParsedThread) -> dict[str, Any]:
    return {
        "title": thread.title,
        "virality": thread.virality,
        "article_count": thread.article_count,
        "first_seen": thread.first_seen,
        "summary": thread.summary,
        "perspectives": thread.perspectives,
        "brief": thread.brief,
        "ai_generated": thread.ai_generated,
        "qa": [list(pair) for pair in thread.qa],
        "leaning": thread.leaning,
        "regions": thread.regions,
        "tags": thread.tags,
        "articles": [
            {
                **asdict(a),
                "published_at": a.published_at.isoformat() if a.published_at else None,
            }
            for a in thread.articles
        ],
        "flags": thread.flags,
    }


def _same(row: Thread, content: dict[str, Any]) -> bool:
    for key, value in content.items():
        current = getattr(row, key)
        if key == "first_seen" and current is not None and value is not None:
            if current.replace(tzinfo=current.tzinfo or UTC) != value:
                return False
        elif current != value:
            return False
    return True


async def import_feed(session: AsyncSession, feed: ParsedFeed, *, source: str) -> ImportReport:
    """Upsert every thread by id, record this feed's ranks and derive each change in rank.

    Importing the same document twice changes nothing: the feed is keyed by its `generated_at`.
    The caller commits; on any error the transaction is rolled back and nothing has changed.
    """
    now = datetime.now(UTC)
    report = ImportReport(generated_at=feed.generated_at, skipped=list(feed.skipped))
    latest = await session.scalar(select(Feed).order_by(Feed.generated_at.desc()).limit(1))
    if latest is not None and _aware(latest.generated_at) > feed.generated_at:
        raise FeedError(
            f"this feed ({feed.generated_at.isoformat()}) is older than the one already imported "
            f"({_aware(latest.generated_at).isoformat()}); nothing changed"
        )
    feed_row = await session.scalar(select(Feed).where(Feed.generated_at == feed.generated_at))
    if feed_row is None:
        feed_row = Feed(generated_at=feed.generated_at, imported_at=now, source=source[:500])
        session.add(feed_row)
    feed_row.thread_count = len(feed.threads)
    feed_row.imported_at = now
    await session.flush()

    previous = await session.scalar(
        select(Feed).where(Feed.generated_at < feed.generated_at).order_by(Feed.generated_at.desc()).limit(1)
    )
    previous_ranks: dict[int, tuple[int, float | None]] = {}
    if previous is not None:
        rows = await session.execute(
            select(RankHistory.thread_id, RankHistory.rank, RankHistory.virality).where(
                RankHistory.feed_id == previous.id
            )
        )
        previous_ranks = {tid: (rank, vir) for tid, rank, vir in rows}

    existing: dict[str, Thread] = {}
    slugs = [t.slug for t in feed.threads]
    for start in range(0, len(slugs), _CHUNK):
        chunk = slugs[start : start + _CHUNK]
        for row in await session.scalars(select(Thread).where(Thread.slug.in_(chunk))):
            existing[row.slug] = row
    history: dict[int, RankHistory] = {
        h.thread_id: h
        for h in await session.scalars(select(RankHistory).where(RankHistory.feed_id == feed_row.id))
    }

    rows_in_feed: list[Thread] = []
    for parsed in feed.threads:
        content = _content(parsed)
        found = existing.get(parsed.slug)
        if found is None:
            row = Thread(slug=parsed.slug, created_at=now, updated_at=now, **content)
            session.add(row)
            report.new.append(parsed.slug)
        else:
            row = found
            if _same(row, content) and row.rank == parsed.rank and row.in_feed and row.feed_id == feed_row.id:
                report.unchanged.append(parsed.slug)
            else:
                report.updated.append(parsed.slug)
                for key, value in content.items():
                    setattr(row, key, value)
                row.updated_at = now
        row.rank = parsed.rank
        row.feed_id = feed_row.id
        row.in_feed = True
        if parsed.flags:
            report.flagged.extend((parsed.slug, flag) for flag in parsed.flags)
        rows_in_feed.append(row)
    await session.flush()

    for row in rows_in_feed:
        before = previous_ranks.get(row.id)
        row.previous_rank = before[0] if before else None
        row.previous_virality = before[1] if before else None
        entry = history.get(row.id)
        assert row.rank is not None  # assign_ranks gave every thread one
        if entry is None:
            session.add(
                RankHistory(thread_id=row.id, feed_id=feed_row.id, rank=row.rank, virality=row.virality)
            )
        else:
            entry.rank, entry.virality = row.rank, row.virality

    # Every thread of this feed now carries its feed_id; the others left the trending list.
    dropped = await session.execute(
        update(Thread)
        .where(Thread.in_feed.is_(True), (Thread.feed_id != feed_row.id) | Thread.feed_id.is_(None))
        .values(in_feed=False)
        .execution_options(synchronize_session=False)
    )
    report.dropped = dropped.rowcount or 0  # type: ignore[attr-defined]
    await session.flush()
    return report


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; we store UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


__all__: Sequence[str] = ("ImportReport", "import_feed")
