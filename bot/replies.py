"""Turning rendered replies into Telegram calls. Rendering itself lives in domain.render."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.ext import ExtBot

from domain.render import Reply

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def markup(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.text, url=b.url)
                if b.url
                else InlineKeyboardButton(b.text, callback_data=b.data)
                for b in row
            ]
            for row in reply.buttons
        ]
    )


async def send(bot: ExtBot[None], chat_id: int, reply: Reply, *, reply_to: int | None = None) -> Message:
    return await bot.send_message(
        chat_id,
        reply.html,
        reply_markup=markup(reply),
        link_preview_options=NO_PREVIEW,
        reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None,
    )


async def send_all(bot: ExtBot[None], chat_id: int, replies: list[Reply]) -> None:
    for reply in replies:
        await send(bot, chat_id, reply)
