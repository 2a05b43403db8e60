"""/story, /trending and the buttons that open cards, briefs and sources."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import BotContext
from bot.replies import send, send_all
from domain import render
from domain.render import Reply
from storage.chats import set_context
from storage.threads import get_stories, get_story, trending

TRENDING_LIMIT = 10
CHOICES = 5
AWAITING_QUERY = "awaiting_story_query"


async def find(session: AsyncSession, context: BotContext, query: str) -> tuple[Reply, int | None]:
    """The reply to a search and the thread it shows (None for a list): shared by /story and plain text."""
    index = await context.services.stories.current(session)
    result = index.search(query, limit=CHOICES)
    if result.hits and result.decisive:
        story = await get_story(session, result.hits[0].key)
        if story is not None:
            context.services.answers.prepare(story)
            return render.story_card(story), story.key
    if result.hits:
        stories = await get_stories(session, [h.key for h in result.hits])
        if len(stories) == 1:
            context.services.answers.prepare(stories[0])
            return render.story_card(stories[0]), stories[0].key
        if stories:
            return render.choices(query, stories), None
    return render.nothing_found(query, await trending(session, limit=5)), None


async def reply_to_search(update: Update, context: BotContext, query: str) -> None:
    chat = update.effective_chat
    assert chat is not None
    async with context.services.sessions() as session:
        reply, shown = await find(session, context, query)
        if shown is not None:
            await set_context(session, chat.id, shown)
        await session.commit()
    await send(context.bot, chat.id, reply)


async def story_command(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    query = " ".join(context.args or []).strip()
    if not query:
        if context.chat_data is not None:
            context.chat_data[AWAITING_QUERY] = True
        async with context.services.sessions() as session:
            top = await trending(session, limit=5)
        await send(context.bot, chat.id, render.story_prompt(top))
        return
    await reply_to_search(update, context, query)


async def trending_command(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    async with context.services.sessions() as session:
        top = await trending(session, limit=TRENDING_LIMIT)
    await send(context.bot, chat.id, render.trending(top))


async def stale(update: Update) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("That story is no longer available. Try /trending.", show_alert=True)


async def story_button(update: Update, context: BotContext) -> None:
    """c:<key> opens a card, b:<key> the brief, s:<key> the sources, t the trending list."""
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and query.data is not None
    if chat is None:
        await query.answer()
        return
    kind, _, raw_key = query.data.partition(":")
    if kind == "t":
        await query.answer()
        await trending_command(update, context)
        return
    async with context.services.sessions() as session:
        story = await get_story(session, int(raw_key)) if raw_key.isdigit() else None
        if story is None:
            await stale(update)
            return
        await set_context(session, chat.id, story.key)
        await session.commit()
    context.services.answers.prepare(story)  # follow-ups go to this thread now
    await query.answer()
    if kind == "c":
        await send(context.bot, chat.id, render.story_card(story))
    elif kind == "b":
        await send_all(context.bot, chat.id, render.brief_pages(story))
    elif kind == "s":
        await send(context.bot, chat.id, render.sources(story))
