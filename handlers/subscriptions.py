"""/subscribe, /settings, /unsubscribe, their buttons and the typed answers to their questions.

Every change is stored at once (one session per update, committed before replying). In groups only
the group's admins may change anything (checked with getChatMember on each change); everyone may
look. Typed answers (a time, a zone, quiet hours, topics) are awaited per chat and per user in
chat_data; questions.follow_up hands plain text here first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from telegram import Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest

from bot.context import BotContext
from bot.replies import markup, send
from domain import render
from domain.digest import MAX_SIZE, MIN_SIZE, norm_tag
from domain.render import Reply
from domain.schedule import (
    COMMON_ZONES,
    ScheduleError,
    parse_quiet_hours,
    parse_subscribe_args,
    parse_time,
    parse_zone,
)
from storage.models import Subscription
from storage.subscriptions import (
    ensure_subscription,
    get_subscription,
    next_label,
    reschedule,
    tag_suggestions,
)

log = logging.getLogger(__name__)

AWAITING = "awaiting_setting"  # chat_data: (what, user id) of a typed answer we asked for
ADMIN_ONLY = "🔒 In a group, only its admins can change the digest."
MAX_TOPICS = 30


def _view(sub: Subscription | None, now: datetime) -> render.SettingsView:
    if sub is None:
        return render.SettingsView(
            subscribed=False,
            paused=False,
            minute=None,
            zone=None,
            size=5,
            quiet=None,
            follow=(),
            mute=(),
            breaking=True,
            quiet_note=True,
            next_label=None,
        )
    quiet = (
        (sub.quiet_start, sub.quiet_end)
        if sub.quiet_start is not None and sub.quiet_end is not None
        else None
    )
    return render.SettingsView(
        subscribed=sub.active,
        paused=sub.paused,
        minute=sub.digest_minute,
        zone=sub.timezone,
        size=sub.size,
        quiet=quiet,
        follow=tuple(sub.follow or ()),
        mute=tuple(sub.mute or ()),
        breaking=sub.breaking,
        quiet_note=sub.quiet_note,
        next_label=next_label(sub, now=now),
    )


# --- who may change things --------------------------------------------------------------------


async def may_change(update: Update, context: BotContext) -> bool:
    """Private chats: the user. Groups: the group's admins (and anonymous admins posting as it)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    message = update.effective_message if update.callback_query is None else None
    if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except BadRequest as exc:
        log.warning("getChatMember failed in %s: %s", chat.id, exc.message)
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def _refuse(update: Update, context: BotContext) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(ADMIN_ONLY, show_alert=True)
    elif update.effective_chat is not None:
        await send(context.bot, update.effective_chat.id, render.plain(ADMIN_ONLY))


async def _allowed(update: Update, context: BotContext) -> bool:
    """Whether this user may change the chat's subscription; if not, they are told why."""
    if await may_change(update, context):
        return True
    await _refuse(update, context)
    return False


def _await(update: Update, context: BotContext, what: str) -> None:
    if context.chat_data is not None and update.effective_user is not None:
        context.chat_data[AWAITING] = (what, update.effective_user.id)


def _stop_awaiting(context: BotContext) -> None:
    if context.chat_data is not None:
        context.chat_data.pop(AWAITING, None)


def _prompt(update: Update, text: str) -> Reply:
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:
        text += " (Reply to this message.)"
    return render.prompt(text)


# --- /subscribe -------------------------------------------------------------------------------


async def subscribe_command(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    if not await _allowed(update, context):
        return
    try:
        args = parse_subscribe_args(" ".join(context.args or []))
    except ScheduleError as exc:
        await send(context.bot, chat.id, render.subscribe_error(str(exc)))
        return
    await _continue_subscribing(update, context, minute=args.minute, zone_name=args.zone)


async def _continue_subscribing(
    update: Update, context: BotContext, *, minute: int | None = None, zone_name: str | None = None
) -> None:
    """Store what we were given, then ask for what is still missing, or subscribe."""
    chat = update.effective_chat
    assert chat is not None
    now = context.services.clock()
    async with context.services.sessions() as session:
        sub = await ensure_subscription(session, chat.id, now=now)
        if minute is not None:
            sub.digest_minute = minute
        if zone_name is not None:
            sub.timezone = zone_name
        missing = "time" if sub.digest_minute is None else "zone" if sub.timezone is None else None
        if missing is None:
            sub.active, sub.paused = True, False
        reschedule(sub, now=now)
        label = next_label(sub, now=now)
        done = (sub.digest_minute, sub.timezone)
        await session.commit()
    if missing == "time":
        _await(update, context, "sub_time")
        reply = render.ask_time()
    elif missing == "zone":
        _await(update, context, "sub_zone")
        reply = render.ask_zone(COMMON_ZONES)
    else:
        _stop_awaiting(context)
        assert done[0] is not None and done[1] is not None
        reply = render.subscribed(done[0], done[1], label or "soon")
        log.info("chat %s subscribed: %s %s", chat.id, render.format_hhmm(done[0]), done[1])
    if update.callback_query is not None:
        await _edit(update, reply)
    else:
        await send(context.bot, chat.id, reply)


# --- /settings and /unsubscribe ---------------------------------------------------------------


async def settings_command(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    async with context.services.sessions() as session:
        sub = await get_subscription(session, chat.id)
        reply = render.settings_menu(_view(sub, context.services.clock()))
    await send(context.bot, chat.id, reply)


async def unsubscribe_command(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    if not await _allowed(update, context):
        return
    async with context.services.sessions() as session:
        sub = await get_subscription(session, chat.id)
    if sub is None or not sub.active:
        await send(
            context.bot, chat.id, render.plain("You are not subscribed. /subscribe starts the daily digest.")
        )
        return
    await send(context.bot, chat.id, render.unsubscribe_question())


# --- buttons ----------------------------------------------------------------------------------


async def _edit(update: Update, reply: Reply) -> None:
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    try:
        await query.message.edit_text(reply.html, reply_markup=markup(reply))
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def subscription_button(update: Update, context: BotContext) -> None:
    """sub:t:<minute>, sub:z:<zone index> (the /subscribe steps) and st:<action>[:<arg>] (/settings)."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or query.data is None or chat is None:
        return
    prefix, _, rest = query.data.partition(":")
    action, _, arg = rest.partition(":")
    if action == "noop":
        await query.answer()
        return
    if not await _allowed(update, context):
        return
    if prefix == "sub":
        try:
            if action == "t":
                minute = int(arg)
                if not 0 <= minute < 24 * 60:
                    raise ValueError(arg)
                await query.answer()
                await _continue_subscribing(update, context, minute=minute)
            elif action == "z":
                name = COMMON_ZONES[int(arg)][1]
                await query.answer()
                await _continue_subscribing(update, context, zone_name=name)
            else:
                raise ValueError(action)
        except (ValueError, IndexError):
            await query.answer("This button has expired. Send /subscribe again.")
        return
    await _settings_action(update, context, action, arg)


async def _settings_action(update: Update, context: BotContext, action: str, arg: str) -> None:
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None
    # Sub-menus: nothing changes yet.
    if action == "time":
        _await(update, context, "time")
        await query.answer()
        await _edit(update, render.ask_time(settings=True))
        return
    if action == "zone":
        _await(update, context, "zone")
        await query.answer()
        await _edit(update, render.ask_zone(COMMON_ZONES, settings=True))
        return
    if action == "quiet":
        _await(update, context, "quiet")
        async with context.services.sessions() as session:
            sub = await get_subscription(session, chat.id)
            current = _view(sub, context.services.clock()).quiet
        await query.answer()
        await _edit(update, render.quiet_menu(current))
        return
    if action == "topics":
        await query.answer()
        await _edit(update, await _topics_menu(context, chat.id))
        return
    if action in ("typef", "typem"):
        what = "follow" if action == "typef" else "mute"
        _await(update, context, what)
        await query.answer()
        await send(
            context.bot,
            chat.id,
            _prompt(update, f"Type the topics to {what}, separated by commas (e.g. climate, space)."),
        )
        return
    if action == "unsub" and arg != "yes":
        await query.answer()
        await _edit(update, render.unsubscribe_question())
        return
    if action == "menu":
        _stop_awaiting(context)
        async with context.services.sessions() as session:
            sub = await get_subscription(session, chat.id)
            reply = render.settings_menu(_view(sub, context.services.clock()))
        await query.answer()
        await _edit(update, reply)
        return

    change = _CHANGES.get(action)
    if change is None:
        await query.answer("This button has expired. Send /settings again.")
        return
    try:
        _note_text, reply = await apply_change(context, chat.id, lambda sub: change(sub, arg))
    except (ValueError, IndexError):
        await query.answer("This button has expired. Send /settings again.")
        return
    await query.answer(_note_text[:190])
    if action in ("f", "m", "clear"):
        reply = await _topics_menu(context, chat.id)
    elif action == "unsub":
        _stop_awaiting(context)
        reply = render.unsubscribed()
    await _edit(update, reply)


async def _topics_menu(context: BotContext, chat_id: int) -> Reply:
    async with context.services.sessions() as session:
        sub = await get_subscription(session, chat_id)
        suggestions = await tag_suggestions(session)
    follow = tuple(sub.follow or ()) if sub else ()
    mute = tuple(sub.mute or ()) if sub else ()
    extra = [t for t in (*follow, *mute) if t not in suggestions]
    return render.topics_menu(follow, mute, [*suggestions, *extra])


async def apply_change(
    context: BotContext, chat_id: int, change: Callable[[Subscription], tuple[str, bool]]
) -> tuple[str, Reply]:
    """Load (or create) the chat's subscription, change it, reschedule if needed, store it at once.
    `change` returns (what changed, whether the next digest time may move)."""
    now = context.services.clock()
    async with context.services.sessions() as session:
        sub = await ensure_subscription(session, chat_id, now=now)
        note, moves = change(sub)
        if moves:
            reschedule(sub, now=now)
        sub.updated_at = now
        reply = render.settings_menu(_view(sub, now), note=note)
        await session.commit()
    return note, reply


# --- the changes (plain functions of the row) -------------------------------------------------


def set_time(sub: Subscription, minute: int) -> tuple[str, bool]:
    sub.digest_minute = minute
    return f"Digest time set to {render.format_hhmm(minute)}.", True


def set_zone(sub: Subscription, name: str) -> tuple[str, bool]:
    sub.timezone = name
    return f"Time zone set to {name}.", True


def set_quiet(sub: Subscription, quiet: tuple[int, int] | None) -> tuple[str, bool]:
    if quiet is None:
        sub.quiet_start = sub.quiet_end = None
        return "Quiet hours off.", False
    sub.quiet_start, sub.quiet_end = quiet
    return f"Quiet hours set to {render.format_hhmm(quiet[0])}–{render.format_hhmm(quiet[1])}.", False


def toggle_topic(sub: Subscription, tag: str, *, mute: bool) -> tuple[str, bool]:
    tag = norm_tag(tag)
    if not tag:
        raise ValueError("empty topic")
    follow, muted = list(sub.follow or ()), list(sub.mute or ())
    mine, other = (muted, follow) if mute else (follow, muted)
    if tag in mine:
        mine.remove(tag)
        note = f"No longer {'muting' if mute else 'following'} {tag}."
    else:
        mine.append(tag)
        if tag in other:
            other.remove(tag)
        note = f"{'Muted' if mute else 'Following'} {tag}."
    sub.follow, sub.mute = follow[:MAX_TOPICS], muted[:MAX_TOPICS]
    return note, False


def add_topics(sub: Subscription, tags: list[str], *, mute: bool) -> tuple[str, bool]:
    follow, muted = list(sub.follow or ()), list(sub.mute or ())
    mine, other = (muted, follow) if mute else (follow, muted)
    added = []
    for tag in (norm_tag(t) for t in tags):
        if tag and tag not in mine:
            mine.append(tag)
            added.append(tag)
        if tag in other:
            other.remove(tag)
    sub.follow, sub.mute = follow[:MAX_TOPICS], muted[:MAX_TOPICS]
    verb = "Muted" if mute else "Following"
    return (f"{verb}: {', '.join(added)}." if added else "Nothing new to add."), False


def _size(sub: Subscription, arg: str) -> tuple[str, bool]:
    step = {"+": 1, "-": -1}[arg]
    sub.size = max(MIN_SIZE, min(MAX_SIZE, sub.size + step))
    return f"{sub.size} stories per digest ({MIN_SIZE}–{MAX_SIZE}).", False


def _pause(sub: Subscription, _arg: str) -> tuple[str, bool]:
    if not sub.active:
        raise ValueError("not subscribed")
    sub.paused = not sub.paused
    return ("Digest paused; your settings are kept." if sub.paused else "Digest resumed."), True


def _unsubscribe(sub: Subscription, _arg: str) -> tuple[str, bool]:
    sub.active, sub.paused = False, False
    return "Unsubscribed.", True


def _breaking(sub: Subscription, _arg: str) -> tuple[str, bool]:
    sub.breaking = not sub.breaking
    return f"Breaking cards {'on' if sub.breaking else 'off'}.", False


def _note(sub: Subscription, _arg: str) -> tuple[str, bool]:
    sub.quiet_note = not sub.quiet_note
    return (
        "On a quiet day you get a short note." if sub.quiet_note else "On a quiet day: no message."
    ), False


def _quiet_button(sub: Subscription, arg: str) -> tuple[str, bool]:
    if arg == "off":
        return set_quiet(sub, None)
    start, end = (int(x) for x in arg.split("-"))
    if not (0 <= start < 1440 and 0 <= end < 1440) or start == end:
        raise ValueError(arg)
    return set_quiet(sub, (start, end))


def _time_button(sub: Subscription, arg: str) -> tuple[str, bool]:
    minute = int(arg)
    if not 0 <= minute < 1440:
        raise ValueError(arg)
    return set_time(sub, minute)


def _clear(sub: Subscription, _arg: str) -> tuple[str, bool]:
    sub.follow, sub.mute = [], []
    return "Topics cleared.", False


_CHANGES: dict[str, Callable[[Subscription, str], tuple[str, bool]]] = {
    "tm": _time_button,
    "tz": lambda sub, arg: set_zone(sub, COMMON_ZONES[int(arg)][1]),
    "size": _size,
    "q": _quiet_button,
    "f": lambda sub, arg: toggle_topic(sub, arg, mute=False),
    "m": lambda sub, arg: toggle_topic(sub, arg, mute=True),
    "clear": _clear,
    "brk": _breaking,
    "note": _note,
    "pause": _pause,
    "unsub": _unsubscribe,
}


# --- typed answers ----------------------------------------------------------------------------


async def typed_input(update: Update, context: BotContext, text: str) -> bool:
    """A typed answer to a question we asked (time, zone, quiet hours, topics); False if we asked
    nothing of this user here, so the text is a question about a card or a search."""
    chat, user = update.effective_chat, update.effective_user
    if context.chat_data is None or chat is None or user is None:
        return False
    awaited = context.chat_data.get(AWAITING)
    if not awaited or awaited[1] != user.id:
        return False
    what = awaited[0]
    if not await _allowed(update, context):
        _stop_awaiting(context)
        return True
    try:
        if what == "sub_time":
            args = parse_subscribe_args(text)
            if args.minute is None:
                raise ScheduleError(f"I couldn't find a time in “{text}”.")
            await _continue_subscribing(update, context, minute=args.minute, zone_name=args.zone)
            return True
        if what == "sub_zone":
            await _continue_subscribing(update, context, zone_name=parse_zone(text))
            return True
        if what == "time":
            minute = parse_time(text)
            _note_text, reply = await apply_change(context, chat.id, lambda sub: set_time(sub, minute))
        elif what == "zone":
            name = parse_zone(text)
            _note_text, reply = await apply_change(context, chat.id, lambda sub: set_zone(sub, name))
        elif what == "quiet":
            quiet = parse_quiet_hours(text)
            _note_text, reply = await apply_change(context, chat.id, lambda sub: set_quiet(sub, quiet))
        elif what in ("follow", "mute"):
            tags = [t for t in text.replace(";", ",").split(",") if t.strip()]
            if not tags:
                raise ScheduleError("Type one or more topics, separated by commas.")
            _note_text, reply = await apply_change(
                context, chat.id, lambda sub: add_topics(sub, tags, mute=what == "mute")
            )
        else:
            _stop_awaiting(context)
            return False
    except ScheduleError as exc:
        # Keep waiting: the next message can fix it.
        await send(context.bot, chat.id, render.subscribe_error(str(exc)))
        return True
    _stop_awaiting(context)
    await send(context.bot, chat.id, reply)
    return True
