"""Importing a feed from a path or URL: shared by `storybot import` and the scheduled refresh."""

from __future__ import annotations

import logging

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.feed import parse_feed, read_source
from storage.importer import ImportReport, import_feed

log = logging.getLogger(__name__)


async def import_from(
    sessions: async_sessionmaker[AsyncSession], source: str, *, client: httpx.AsyncClient | None = None
) -> ImportReport:
    """Read, validate and upsert in one transaction. Raises FeedError (nothing changed) on a bad document."""
    raw = await read_source(source, client=client)
    parsed = parse_feed(raw)
    async with sessions() as session, session.begin():
        report = await import_feed(session, parsed, source=source)
    for skipped in report.skipped:
        log.warning("skipped thread %s: %s", skipped.thread_id, skipped.reason)
    for slug, flag in report.flagged:
        log.info("thread %s: %s", slug, flag)
    log.info("imported %s", report.summary())
    return report
