"""Admin-only commands: who is an admin, the polite refusal, and /stats."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import BotContext
from bot.replies import send
from domain import render
from storage.outbox import delivery_stats

log = logging.getLogger(__name__)

REFUSAL = "🔒 Sorry, only the bot's admins can use that command."


def is_admin(update: Update, context: BotContext) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.services.settings.admin_ids


async def require_admin(update: Update, context: BotContext, what: str) -> bool:
    """True for admins. Anyone else gets a polite refusal, and the attempt is logged."""
    if is_admin(update, context):
        return True
    user = update.effective_user
    log.warning("refused %s from non-admin user %s", what, user.id if user else None)
    if update.callback_query is not None:
        await update.callback_query.answer(REFUSAL, show_alert=True)
    elif update.effective_chat is not None:
        await send(context.bot, update.effective_chat.id, render.plain(REFUSAL))
    return False


async def stats_command(update: Update, context: BotContext) -> None:
    if update.effective_chat is None or not await require_admin(update, context, "/stats"):
        return
    async with context.services.sessions() as session:
        stats = await delivery_stats(session)
    reply = render.delivery_stats(
        chats_active=stats.chats_active,
        chats_blocked=stats.chats_blocked,
        outbox_pending=stats.outbox_pending,
        sent_last_hour=stats.sent_last_hour,
        sent_last_day=stats.sent_last_day,
        campaigns=stats.campaigns,
    )
    await send(context.bot, update.effective_chat.id, reply)
