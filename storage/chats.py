"""Repository functions for chats: who uses the bot, and what card each chat is looking at."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Chat


async def touch_chat(
    session: AsyncSession,
    chat_id: int,
    *,
    chat_type: str = "private",
    title: str | None = None,
    language: str | None = None,
    started: bool = False,
) -> Chat:
    """Record that a chat used the bot. `started` (a /start) also clears an earlier block."""
    now = datetime.now(UTC)
    chat = await session.get(Chat, chat_id)
    if chat is None:
        chat = Chat(
            id=chat_id, type=chat_type, title=title, language=language, started_at=now, last_seen_at=now
        )
        session.add(chat)
    else:
        chat.last_seen_at = now
        chat.type = chat_type
        if title:
            chat.title = title
        if language:
            chat.language = language
        # Any message from a private chat proves it is no longer blocked.
        if started or chat_type == "private":
            chat.blocked_at = None
    return chat


async def set_context(session: AsyncSession, chat_id: int, thread_key: int | None) -> None:
    await session.execute(update(Chat).where(Chat.id == chat_id).values(context_thread_id=thread_key))


async def get_context(session: AsyncSession, chat_id: int) -> int | None:
    return await session.scalar(select(Chat.context_thread_id).where(Chat.id == chat_id))


async def mark_blocked(session: AsyncSession, chat_ids: list[int]) -> None:
    if chat_ids:
        await session.execute(
            update(Chat)
            .where(Chat.id.in_(chat_ids), Chat.blocked_at.is_(None))
            .values(blocked_at=datetime.now(UTC))
        )
