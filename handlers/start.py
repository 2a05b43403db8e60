"""/start and /help: what the bot does and how to use it."""

from __future__ import annotations

from telegram import BotCommand, Update

from bot.context import BotContext
from bot.replies import send
from domain.render import Reply, button, card_data, esc
from storage.chats import touch_chat
from storage.threads import trending

COMMANDS = [
    BotCommand("story", "Find a story: /story Istanbul"),
    BotCommand("trending", "The top stories right now"),
    BotCommand("subscribe", "Get a daily digest at your time"),
    BotCommand("settings", "Digest time, zone, topics, breaking news"),
    BotCommand("unsubscribe", "Stop the daily digest"),
    BotCommand("help", "How to use the bot"),
]

HELP = (
    "<b>Storybot</b> condenses the news: each story is one event told by many outlets, with a neutral "
    "summary, how left- and right-leaning media frame it, the coverage split and a longer brief.\n\n"
    "/story <i>words</i> — find a story, e.g. <code>/story Istanbul</code>\n"
    "/trending — the top stories right now\n"
    "/subscribe — a daily digest at your local time\n"
    "/settings — digest time, zone, topics, breaking news\n"
    "/unsubscribe — stop the digest\n"
    "/help — this message\n\n"
    "After a card, just ask a question in your own words (\u201cwhat does russia want?\u201d) or tap one "
    "of the stored questions. I answer from the story's brief, and say so when it has no answer."
)


async def start(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    async with context.services.sessions() as session:
        await touch_chat(
            session, chat.id, chat_type=chat.type, title=chat.title or chat.first_name, started=True
        )
        top = await trending(session, limit=3)
        await session.commit()
    name = update.effective_user.first_name if update.effective_user else ""
    text = f"👋 Hi{(' ' + esc(name)) if name else ''}! " + HELP
    if top:
        text += "\n\n" + esc("Start with one of today's top stories:")
    rows = tuple((button(f"{s.rank}. {s.title}", card_data(s.key)),) for s in top)
    await send(context.bot, chat.id, Reply(text, rows))


async def help_command(update: Update, context: BotContext) -> None:
    if update.effective_chat:
        await send(context.bot, update.effective_chat.id, Reply(HELP))
