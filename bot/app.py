"""The one place that builds the Application: settings, services, handlers, jobs."""

from __future__ import annotations

import logging

import httpx
from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import jobs
from bot.answers import Answerer
from bot.config import Settings
from bot.context import CONTEXT_TYPES, BotApplication, BotContext
from bot.delivery import BotApi, DeliveryWorker
from bot.services import StoryIndex
from domain import render
from domain.story import Story
from handlers import admin, broadcast, errors, membership, questions, start, stories, subscriptions
from storage.chats import touch_chat
from storage.db import create_engine, session_factory, upgrade
from storage.threads import trending

log = logging.getLogger(__name__)


async def track_chat(update: Update, context: BotContext) -> None:
    """Every chat that talks to the bot is part of its audience (broadcasts) and gets a row."""
    chat = update.effective_chat
    if chat is None or update.effective_message is None:
        return
    async with context.services.sessions() as session:
        await touch_chat(session, chat.id, chat_type=chat.type, title=chat.title or chat.first_name)
        await session.commit()


async def post_init(app: BotApplication) -> None:
    services = app.bot_data
    services.engine = create_engine(services.settings.database_url)
    await upgrade(services.engine)
    services.sessions = session_factory(services.engine)
    services.http = httpx.AsyncClient(
        timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=True, max_redirects=3
    )
    services.stories = StoryIndex()
    services.answers = Answerer(services.settings.semantic_matching)

    async def likely_asked() -> list[Story]:
        # What /trending lists: cards shown later are embedded as they are shown (Answerer.prepare).
        async with services.sessions() as session:
            return await trending(session, limit=10)

    services.answers.start_loading(prefetch=likely_asked)
    async with services.sessions() as session:
        await services.stories.current(session)  # build the search index before the first /story
    await app.bot.set_my_commands(start.COMMANDS)
    settings = services.settings
    if settings.telegram_bot_token and services.deliver:
        services.delivery = DeliveryWorker(
            services.sessions,
            BotApi(app.bot.token, settings.telegram_api_base_url),
            rate=settings.delivery_rate,
            lease=settings.delivery_lease_seconds,
        )
        services.delivery.start()
    jobs.schedule(app)
    log.info("storybot ready on %s", services.settings.redacted_database_url())


async def post_shutdown(app: BotApplication) -> None:
    services = app.bot_data
    if getattr(services, "answers", None) is not None:
        await services.answers.close()
    # First: sends in flight finish and claimed rows go back to the outbox while the database is open.
    if getattr(services, "delivery", None) is not None:
        await services.delivery.stop()
        await services.delivery.api.aclose()
    if getattr(services, "http", None) is not None:
        await services.http.aclose()
    if getattr(services, "engine", None) is not None:
        await services.engine.dispose()


def register_handlers(app: BotApplication) -> None:
    """In one visible order. Group -1 runs first for every update and never stops the others."""
    app.add_handler(TypeHandler(Update, track_chat), group=-1)
    app.add_handler(ChatMemberHandler(membership.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(CommandHandler("start", start.start))
    app.add_handler(CommandHandler("help", start.help_command))
    app.add_handler(CommandHandler("story", stories.story_command))
    app.add_handler(CommandHandler("trending", stories.trending_command))
    app.add_handler(CommandHandler("subscribe", subscriptions.subscribe_command))
    app.add_handler(CommandHandler("settings", subscriptions.settings_command))
    app.add_handler(CommandHandler("unsubscribe", subscriptions.unsubscribe_command))
    # Admin commands: each checks ADMIN_IDS itself, so others get a polite refusal (and a log line).
    app.add_handler(CommandHandler("broadcast", broadcast.broadcast_command))
    app.add_handler(CommandHandler("broadcast_cancel", broadcast.cancel_command))
    app.add_handler(CommandHandler("stats", admin.stats_command))
    app.add_handler(CallbackQueryHandler(broadcast.broadcast_button, pattern=broadcast.BUTTONS))
    app.add_handler(CallbackQueryHandler(stories.story_button, pattern=r"^(c|b|s):\d+$|^t$"))
    app.add_handler(CallbackQueryHandler(questions.question_button, pattern=r"^q:"))
    app.add_handler(CallbackQueryHandler(subscriptions.subscription_button, pattern=render.SUBSCRIBE_BUTTONS))
    app.add_handler(CallbackQueryHandler(expired_button))
    # Private chats: any text. Groups: only replies to the bot (privacy mode hides the rest anyway).
    app.add_handler(
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & (filters.ChatType.PRIVATE | filters.REPLY), questions.follow_up
        )
    )
    app.add_handler(MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, unknown_command))
    app.add_error_handler(errors.on_error)


async def expired_button(update: Update, context: BotContext) -> None:
    if update.callback_query:
        await update.callback_query.answer("This button has expired. Try /trending.")


async def unknown_command(update: Update, context: BotContext) -> None:
    if update.effective_message:
        await update.effective_message.reply_text("I don't know that command. /help lists what I can do.")


def build_application(settings: Settings, *, request: BaseRequest | None = None) -> BotApplication:
    token = settings.telegram_bot_token or "1:console-mode-token"
    builder = (
        ApplicationBuilder()
        .token(token)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .context_types(CONTEXT_TYPES)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .concurrent_updates(True)
    )
    if settings.telegram_api_base_url:
        base = settings.telegram_api_base_url.rstrip("/")
        builder = builder.base_url(base).base_file_url(base.removesuffix("/bot") + "/file/bot")
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        builder = builder.rate_limiter(AIORateLimiter(overall_max_rate=25, max_retries=3))  # type: ignore[arg-type]
    app: BotApplication = builder.build()
    app.bot_data.settings = settings
    # The delivery engine posts straight to the Bot API over HTTP. With a request class of our own
    # (the console, handler tests) there is no such server: campaigns stay queued in the outbox.
    app.bot_data.deliver = request is None
    register_handlers(app)
    return app
