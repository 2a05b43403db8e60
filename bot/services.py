"""What handlers and jobs need, reached through the typed context (`context.bot_data`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.answers import Answerer
from bot.config import Settings
from bot.delivery import DeliveryWorker
from domain.search import SearchIndex
from storage.threads import index_version, search_docs


class StoryIndex:
    """The search index of this process, rebuilt when another import (any process) lands."""

    def __init__(self) -> None:
        self._index = SearchIndex([])
        self._version: tuple[int, str] | None = None
        self._lock = asyncio.Lock()

    async def current(self, session: AsyncSession) -> SearchIndex:
        version = await index_version(session)
        if version == self._version:
            return self._index
        async with self._lock:
            if version != self._version:
                docs = [doc async for doc in search_docs(session)]
                # Building is CPU work; a thread keeps the event loop answering other chats meanwhile.
                self._index = await asyncio.to_thread(SearchIndex, docs)
                self._version = version
        return self._index


def system_clock() -> datetime:
    return datetime.now(UTC)


class Services:
    """Filled once: settings at build time, the rest in post_init (see bot.app)."""

    # What time it is for schedules (digests, quiet hours, daily caps); tests replace it.
    clock: Callable[[], datetime] = staticmethod(system_clock)
    # One scheduler tick at a time in this process (the refresh job also runs one after an import).
    tick_lock: asyncio.Lock | None = None

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    stories: StoryIndex
    answers: Answerer
    deliver: bool = True  # run the delivery engine in this process
    delivery: DeliveryWorker
