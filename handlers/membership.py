"""The bot's own membership: blocked by a user, removed from a group, or added back."""

from __future__ import annotations

import logging

from telegram import ChatMember, Update

from bot.context import BotContext
from storage.chats import mark_blocked, touch_chat

log = logging.getLogger(__name__)

GONE = {ChatMember.BANNED, ChatMember.LEFT}


async def my_chat_member(update: Update, context: BotContext) -> None:
    change = update.my_chat_member
    if change is None:
        return
    chat = change.chat
    async with context.services.sessions() as session:
        if change.new_chat_member.status in GONE:
            # Blocked or removed: broadcasts and digests leave this chat alone until it comes back.
            await touch_chat(session, chat.id, chat_type=chat.type, title=chat.title or chat.first_name)
            await mark_blocked(session, [chat.id])
            log.info("chat %s: bot is %s", chat.id, change.new_chat_member.status)
        else:
            await touch_chat(
                session, chat.id, chat_type=chat.type, title=chat.title or chat.first_name, started=True
            )
        await session.commit()
