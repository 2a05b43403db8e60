"""Repository functions for story threads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.search import SearchDoc
from domain.story import Story
from storage.models import Feed, Thread


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_story(row: Thread) -> Story:
    return Story(
        key=row.id,
        slug=row.slug,
        title=row.title,
        summary=row.summary,
        rank=row.rank if row.in_feed else None,
        previous_rank=row.previous_rank,
        virality=row.virality,
        article_count=row.article_count,
        first_seen=_aware(row.first_seen),
        perspectives=dict(row.perspectives or {}),
        brief=tuple(row.brief or ()),
        ai_generated=row.ai_generated,
        qa=tuple((str(q), str(a)) for q, a in (row.qa or ())),
        leaning={k: float(v) for k, v in (row.leaning or {}).items()},
        regions={k: float(v) for k, v in (row.regions or {}).items()},
        tags=tuple(row.tags or ()),
        articles=tuple(row.articles or ()),
        in_feed=row.in_feed,
    )


async def get_story(session: AsyncSession, key: int) -> Story | None:
    row = await session.get(Thread, key)
    return to_story(row) if row else None


async def get_stories(session: AsyncSession, keys: Sequence[int]) -> list[Story]:
    """In the order of `keys`; missing ones left out."""
    if not keys:
        return []
    rows = {r.id: r for r in await session.scalars(select(Thread).where(Thread.id.in_(list(keys))))}
    return [to_story(rows[k]) for k in keys if k in rows]


async def trending(session: AsyncSession, limit: int = 10) -> list[Story]:
    rows = await session.scalars(
        select(Thread).where(Thread.in_feed.is_(True)).order_by(Thread.rank, Thread.id).limit(limit)
    )
    return [to_story(r) for r in rows]


async def index_version(session: AsyncSession) -> tuple[int, str]:
    """Changes whenever a feed is imported: search indexes rebuild when it does."""
    count, latest = (await session.execute(select(func.count(Feed.id), func.max(Feed.imported_at)))).one()
    return int(count), str(latest)


async def search_docs(session: AsyncSession, batch: int = 1000) -> AsyncIterator[SearchDoc]:
    stream = await session.stream(
        select(
            Thread.id,
            Thread.slug,
            Thread.title,
            Thread.tags,
            Thread.summary,
            Thread.brief,
            Thread.rank,
            Thread.in_feed,
        ).execution_options(yield_per=batch)
    )
    async for key, slug, title, tags, summary, brief, rank, in_feed in stream:
        yield SearchDoc(
            key=key,
            slug=slug,
            title=title,
            tags=tuple(tags or ()),
            summary=summary,
            brief="\n".join(brief or ()),
            rank=rank if in_feed else None,
        )
