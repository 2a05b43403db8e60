"""Follow-up questions: a stored question tapped, or one typed in the user's own words."""

from __future__ import annotations

import re

from telegram import Message, Update

from bot.context import BotContext
from bot.replies import send, send_all
from domain import render
from handlers import subscriptions
from handlers.stories import AWAITING_QUERY, reply_to_search
from storage.chats import get_context, set_context, touch_chat
from storage.threads import get_story

_THREAD_DATA = re.compile(r"^[cqbs]:(\d+)")
MAX_QUESTION = 1000


def thread_of_card(message: Message | None) -> int | None:
    """The thread a message of ours is about, read from its buttons (any of them carries the key)."""
    if message is None or message.reply_markup is None:
        return None
    for row in message.reply_markup.inline_keyboard:
        for b in row:
            match = _THREAD_DATA.match(str(b.callback_data or ""))
            if match:
                return int(match.group(1))
    return None


async def question_button(update: Update, context: BotContext) -> None:
    """q:<key>:<index>: the stored answer to a stored question."""
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    if chat is None or len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        await query.answer("This button has expired.")
        return
    key, index = int(parts[1]), int(parts[2])
    async with context.services.sessions() as session:
        story = await get_story(session, key)
        if story is None or index >= len(story.qa):
            await query.answer("That story is no longer available. Try /trending.", show_alert=True)
            return
        await set_context(session, chat.id, key)
        await session.commit()
    await query.answer()
    await send_all(context.bot, chat.id, render.answer(story, index))


async def follow_up(update: Update, context: BotContext) -> None:
    """Plain text: a question about the card in context, or else a search."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None or not message.text:
        return
    text = message.text.strip()[:MAX_QUESTION]
    if not text:
        return
    # A typed answer to /subscribe or /settings (a time, a zone, topics) is not a question.
    if await subscriptions.typed_input(update, context, text):
        return
    if context.chat_data is not None and context.chat_data.pop(AWAITING_QUERY, False):
        await reply_to_search(update, context, text)
        return

    async with context.services.sessions() as session:
        replied = message.reply_to_message
        key = thread_of_card(replied) if replied and replied.from_user and replied.from_user.is_bot else None
        if key is None:
            key = await get_context(session, chat.id)
        story = await get_story(session, key) if key is not None else None
        if story is None:
            await session.commit()
        else:
            await touch_chat(session, chat.id, chat_type=chat.type)
            await set_context(session, chat.id, story.key)
            await session.commit()
    if story is None:
        await reply_to_search(update, context, text)
        return

    match, nearest, order = await context.services.answers.answer(story, text)
    if match is None:
        refusal = render.not_in_brief(story, text, nearest, order)
        await send(context.bot, chat.id, refusal, reply_to=message.message_id)
        return
    first, *rest = render.matched_answer(story, match.index, text)
    await send(context.bot, chat.id, first, reply_to=message.message_id)
    await send_all(context.bot, chat.id, rest)
