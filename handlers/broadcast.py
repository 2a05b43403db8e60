"""/broadcast: an admin's message to every chat, previewed first, queued only on Confirm.

The draft is a campaign row in status 'draft' (so the buttons survive a restart and carry only its
id); Confirm writes the outbox rows in one transaction, and the delivery worker sends them.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.replies import markup, send
from domain import render
from domain.delivery import copy_payload, payload_reply, progress_from_counts, text_payload
from domain.render import Reply
from handlers.admin import require_admin
from storage.outbox import (
    active_chats,
    campaign_counts,
    cancel_campaign,
    count_recipients,
    create_campaign,
    get_campaign,
    latest_active_campaign,
    queue_campaign,
    set_progress_message,
)

log = logging.getLogger(__name__)

BUTTONS = r"^bc:(ok|no|stop):\d+$"
_COMMAND = re.compile(r"^/broadcast(@\w+)?\s*", re.IGNORECASE)
USAGE = (
    "📣 Send <code>/broadcast your text</code> (formatting is kept), or reply with /broadcast to a "
    "message or a photo with a caption. You'll see a preview before anything is sent."
)


def draft_payload(message: Message) -> dict[str, Any] | None:
    """What to send: the text after the command, or the message the admin replied to."""
    own = _COMMAND.sub("", message.text_html or "", count=1).strip()
    if own:
        return text_payload(Reply(own))
    replied = message.reply_to_message
    if replied is None:
        return None
    if replied.text:
        return text_payload(Reply(replied.text_html))
    # A photo with its caption (or any other message): copied as is, formatting included.
    return copy_payload(replied.chat.id, replied.message_id)


async def _preview(context: BotContext, chat_id: int, payload: dict[str, Any]) -> None:
    """Exactly what subscribers will get."""
    if payload["type"] == "copy":
        await context.bot.copy_message(chat_id, payload["from_chat_id"], payload["message_id"])
    else:
        await send(context.bot, chat_id, payload_reply(payload))


async def broadcast_command(update: Update, context: BotContext) -> None:
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return
    if not await require_admin(update, context, "/broadcast"):
        return
    payload = draft_payload(message)
    if payload is None:
        await send(context.bot, chat.id, Reply(USAGE))
        return
    if payload["type"] == "text" and render.visible_length(payload["html"]) > render.MAX_TEXT:
        await send(
            context.bot, chat.id, render.plain("That message is too long for Telegram (4096 characters).")
        )
        return
    async with context.services.sessions() as session:
        recipients = await count_recipients(session, active_chats())
        campaign_id = await create_campaign(session, kind="broadcast", payload=payload, created_by=user.id)
        await session.commit()
    try:
        await _preview(context, chat.id, payload)
    except BadRequest as exc:
        # Telegram would refuse it for everyone: say why, queue nothing.
        await send(context.bot, chat.id, render.plain(f"Telegram refuses this message: {exc.message}"))
        return
    await send(context.bot, chat.id, render.broadcast_question(campaign_id, recipients))
    log.info("broadcast #%s drafted by %s for %s chats", campaign_id, user.id, recipients)


async def broadcast_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    if not await require_admin(update, context, f"button {query.data}"):
        return
    _, action, raw_id = query.data.split(":")
    campaign_id = int(raw_id)
    if action == "ok":
        await _confirm(update, context, campaign_id)
    elif action == "no":
        async with context.services.sessions() as session:
            campaign = await get_campaign(session, campaign_id)
            if campaign is None or campaign.status != "draft":
                await query.answer("This broadcast is no longer a draft.")
                return
            await cancel_campaign(session, campaign_id)
            await session.commit()
        await query.answer("Cancelled")
        await _edit(query.message, render.plain(f"✖️ Broadcast #{campaign_id} cancelled: nothing was sent."))
    else:
        await query.answer("Stopping…")
        await stop_broadcast(context, campaign_id)


async def _confirm(update: Update, context: BotContext, campaign_id: int) -> None:
    query = update.callback_query
    assert query is not None
    services = context.services
    message = query.message
    initial: Reply | None = None
    async with services.sessions() as session:
        total = await queue_campaign(session, campaign_id, active_chats())
        if total is not None and isinstance(message, Message):
            progress = progress_from_counts(total, {"pending": total})
            initial = render.broadcast_progress(campaign_id, progress, rate=None, final=False)
            await set_progress_message(
                session, campaign_id, message.chat.id, message.message_id, text=initial.html, at=time.time()
            )
        await session.commit()
    if total is None:
        await query.answer("Already confirmed or cancelled.")
        return
    delivery = getattr(services, "delivery", None)
    if delivery is not None:
        delivery.wake()
    await query.answer(f"Queued to {total:,} chats")
    log.info("broadcast #%s confirmed: %s recipients", campaign_id, total)
    if initial is not None:
        await _edit(message, initial)


async def _edit(message: Any, reply: Reply) -> None:
    if not isinstance(message, Message):
        return
    try:
        await message.edit_text(reply.html, reply_markup=markup(reply))
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def stop_broadcast(context: BotContext, campaign_id: int) -> Reply:
    """Stop what is not yet sent; the progress message becomes the final report."""
    services = context.services
    async with services.sessions() as session:
        campaign = await get_campaign(session, campaign_id)
        if campaign is None or campaign.status != "active":
            return render.plain(f"Broadcast #{campaign_id} is not being sent.")
        await cancel_campaign(session, campaign_id)
        # Mark it edited, so the worker's monitor makes no edit of its own after ours.
        progress = progress_from_counts(campaign.total, await campaign_counts(session, campaign_id))
        final = render.broadcast_progress(campaign_id, progress, rate=None, final=True)
        chat_id, message_id = campaign.progress_chat_id, campaign.progress_message_id
        if chat_id is not None and message_id is not None:
            await set_progress_message(
                session, campaign_id, chat_id, message_id, text=final.html, at=time.time()
            )
        await session.commit()
    delivery = getattr(services, "delivery", None)
    if delivery is not None:
        delivery.cancelled(campaign_id)
    log.info("broadcast #%s stopped: %s", campaign_id, progress)
    if chat_id is not None and message_id is not None:
        try:
            await context.bot.edit_message_text(final.html, chat_id=chat_id, message_id=message_id)
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                log.warning("could not edit the progress message: %s", exc.message)
    report = render.broadcast_report(campaign_id, progress, cancelled=True)
    if chat_id is not None:
        await send(context.bot, chat_id, report)
    return report


async def cancel_command(update: Update, context: BotContext) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or not await require_admin(update, context, "/broadcast_cancel"):
        return
    arg = (context.args or [""])[0].lstrip("#")
    async with context.services.sessions() as session:
        campaign_id = int(arg) if arg.isdigit() else await latest_active_campaign(session)
    if campaign_id is None:
        await send(context.bot, chat.id, render.plain("No broadcast is being sent."))
        return
    async with context.services.sessions() as session:
        campaign = await get_campaign(session, campaign_id)
        progress_chat = campaign.progress_chat_id if campaign else None
    reply = await stop_broadcast(context, campaign_id)
    if progress_chat != chat.id:  # the report went to the progress chat; tell this one too
        await send(context.bot, chat.id, reply)
