"""The one error handler: log with the update, tell the user something useful, keep polling."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError

from bot.context import BotContext

log = logging.getLogger(__name__)

SORRY = "😕 Sorry, something went wrong on my side. Please try again in a moment."


async def on_error(update: object, context: BotContext) -> None:
    log.error("error while handling update %s", update, exc_info=context.error)
    if not isinstance(update, Update):
        return
    if isinstance(context.error, Forbidden):
        return  # the user blocked us: nobody to tell
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(SORRY[:200], show_alert=True)
        elif update.effective_chat is not None and not isinstance(context.error, RetryAfter | NetworkError):
            await context.bot.send_message(update.effective_chat.id, SORRY)
    except TelegramError:
        log.warning("could not tell the user about the error", exc_info=True)
