"""Tests for the fake Telegram Bot API server, driven by python-telegram-bot itself."""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
# PTB 22 warns that RetryAfter.retry_after will become a timedelta; _seconds() handles both.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(fake.token, base_url=fake.base_url) as b:
        yield b


def _seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def _kb(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(buttons)])


# ------------------------------------------------------------------------------------- basics


async def test_get_me(bot: telegram.Bot, fake: FakeTelegram) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == fake.bot_id and me.username == "storybot_test_bot"
    assert me.can_join_groups is True
    assert fake.stats.requests["getMe"] >= 1


async def test_html_escaped_text_returns_plain_text_and_entities(
    bot: telegram.Bot, fake: FakeTelegram
) -> None:
    title = "<Tom & Jerry> \"quoted\" 'single' 😀"
    msg = await bot.send_message(
        42, f'<b>{html.escape(title)}</b>\n<a href="https://ex.com/?a=1&amp;b=2">link</a>', parse_mode="HTML"
    )
    assert msg.text == f"{title}\nlink"
    bold, link = msg.entities
    assert (bold.type, bold.offset, bold.length) == ("bold", 0, len(title) + 1)  # emoji = 2 UTF-16 units
    assert link.type == "text_link" and link.url == "https://ex.com/?a=1&b=2"
    assert link.offset == len(title) + 2
    assert (
        isinstance(msg.date, dtm.datetime) and abs(msg.date.timestamp() - dtm.datetime.now().timestamp()) < 5
    )
    rec = fake.last(42)
    assert rec is not None and rec["text"] == msg.text and rec["parse_mode"] == "HTML"
    assert rec["message_id"] == msg.message_id == 1


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<b>unclosed", "can't find end tag"),
        ("<b><i>x</b></i>", "unmatched end tag"),
        ("<blink>x</blink>", 'unsupported start tag "blink"'),
        ("1 < 2", 'unsupported start tag ""'),
        ("Tom & Jerry", 'character "&" must be escaped'),
        ("&nbsp;", "unsupported html entity"),
        ("</b>", "unexpected end tag"),
        ('<span class="x">s</span>', "tg-spoiler"),
    ],
)
async def test_bad_html_rejected(bot: telegram.Bot, text: str, fragment: str) -> None:
    with pytest.raises(BadRequest) as exc:
        await bot.send_message(1, text, parse_mode="HTML")
    # PTB strips "Bad Request: " and str.capitalize()s the rest, so compare lower-case.
    assert "can't parse entities" in exc.value.message.lower()
    assert fragment.lower() in exc.value.message.lower()


async def test_supported_html_tags(bot: telegram.Bot) -> None:
    text = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>"
        '<span class="tg-spoiler">p</span><tg-spoiler>q</tg-spoiler><code>c</code>'
        '<pre><code class="language-python">x = 1</code></pre><blockquote expandable>q</blockquote>'
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>&#65;&#x42;&quot;&lt;&gt;'
    )
    msg = await bot.send_message(1, text, parse_mode="HTML")
    assert msg.text == 'bsieunskdpqcx = 1q👍AB"<>'
    types = [e.type for e in msg.entities]
    assert types.count("bold") == 2 and types.count("spoiler") == 2
    pre = next(e for e in msg.entities if e.type == "pre")
    assert pre.language == "python"
    assert "expandable_blockquote" in types and "custom_emoji" in types


async def test_markdown_v2_reserved_character(bot: telegram.Bot) -> None:
    msg = await bot.send_message(1, r"*bold* costs 1\.5\!", parse_mode="MarkdownV2")
    assert msg.text == "bold costs 1.5!" and msg.entities[0].type == "bold"
    with pytest.raises(BadRequest, match=r"(?i)reserved"):
        await bot.send_message(1, "costs 1.5", parse_mode="MarkdownV2")


# ------------------------------------------------------------------------------------ lengths


async def test_length_counted_after_parsing_in_utf16(bot: telegram.Bot) -> None:
    await bot.send_message(1, "a" * 4096)
    await bot.send_message(1, "😀" * 2048)  # 4096 UTF-16 units
    await bot.send_message(1, "<b>" + "&amp;" * 4096 + "</b>", parse_mode="HTML")  # 4096 after parsing
    for too_long in ("a" * 4097, "😀" * 2048 + "a", "😀" * 2049):
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(1, too_long)


async def test_empty_text_after_parsing(bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(1, "<b> </b>", parse_mode="HTML")


async def test_caption_limit_and_photo(bot: telegram.Bot, fake: FakeTelegram) -> None:
    msg = await bot.send_photo(
        5, "https://example.com/p.jpg", caption="<b>" + "x" * 1024 + "</b>", parse_mode="HTML"
    )
    assert msg.caption == "x" * 1024 and msg.photo
    again = await bot.send_photo(5, msg.photo[-1].file_id)
    assert again.photo[-1].file_id == msg.photo[-1].file_id
    uploaded = await bot.send_photo(5, b"\x89PNG\r\n" + b"0" * 3000, caption="upload")
    assert uploaded.photo[-1].file_size and uploaded.caption == "upload"
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(5, "https://example.com/p.jpg", caption="x" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(5, "not a file id")
    assert [r["method"] for r in fake.sent(5)] == ["sendPhoto"] * 3


# ----------------------------------------------------------------------------------- keyboards


async def test_callback_data_limit_is_64_bytes(bot: telegram.Bot) -> None:
    await bot.send_message(1, "ok", reply_markup=_kb(InlineKeyboardButton("b", callback_data="x" * 64)))
    for data in ("x" * 65, "é" * 33):  # 65 bytes / 66 bytes
        with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(1, "no", reply_markup=_kb(InlineKeyboardButton("b", callback_data=data)))


async def test_button_url_and_text_validation(bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_URL_INVALID"):
        await bot.send_message(1, "x", reply_markup=_kb(InlineKeyboardButton("b", url="javascript:alert(1)")))
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed"):
        await bot.send_message(1, "x", reply_markup=InlineKeyboardMarkup([[{"text": "plain"}]]))  # type: ignore[list-item]
    msg = await bot.send_message(
        1, "x", reply_markup=_kb(InlineKeyboardButton("b", url="tg://resolve?domain=x"))
    )
    assert msg.reply_markup is not None


# --------------------------------------------------------------------------------------- edits


async def test_edit_same_content_not_modified(bot: telegram.Bot, fake: FakeTelegram) -> None:
    kb = _kb(InlineKeyboardButton("Next", callback_data="next"))
    msg = await bot.send_message(7, "<b>Page 1</b>", parse_mode="HTML", reply_markup=kb)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("<b>Page 1</b>", 7, msg.message_id, parse_mode="HTML", reply_markup=kb)
    # Same text without the markup is a modification (the keyboard is removed), as in Telegram.
    edited = await bot.edit_message_text("<b>Page 1</b>", 7, msg.message_id, parse_mode="HTML")
    assert isinstance(edited, telegram.Message) and edited.reply_markup is None and edited.edit_date
    edited = await bot.edit_message_reply_markup(7, msg.message_id, reply_markup=kb)
    assert isinstance(edited, telegram.Message) and edited.reply_markup == kb
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(7, msg.message_id, reply_markup=kb)
    rec = fake.last(7)
    assert rec is not None and len(rec["edits"]) == 2 and rec["reply_markup"] is not None
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", 7, 999)
    assert await bot.delete_message(7, msg.message_id) is True
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(7, msg.message_id)


async def test_copy_and_forward(bot: telegram.Bot, fake: FakeTelegram) -> None:
    msg = await bot.send_message(1, "<i>hello</i>", parse_mode="HTML")
    copied = await bot.copy_message(2, 1, msg.message_id)
    assert copied.message_id == 1 and fake.last(2)["text"] == "hello"  # type: ignore[index]
    fwd = await bot.forward_message(3, 1, msg.message_id)
    assert fwd.text == "hello" and fwd.forward_origin is not None
    with pytest.raises(BadRequest, match=r"(?i)message to copy not found"):
        await bot.copy_message(2, 1, 12345)


# ------------------------------------------------------------------------------ errors/limits


async def test_injected_429_raises_retry_after(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.fail_next(9, n=2, code=429, retry_after=7)
    for _ in range(2):
        with pytest.raises(RetryAfter) as exc:
            await bot.send_message(9, "hi")
        assert _seconds(exc.value.retry_after) == 7
    await bot.send_message(9, "now ok")
    assert fake.stats.too_many_requests == 2 and fake.stats.sends_ok == 1


async def test_injected_500_and_400(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.fail_next(None, code=500)
    with pytest.raises(telegram.error.NetworkError):
        await bot.send_message(3, "x")
    fake.fail_next(3, code=400, description="CHAT_WRITE_FORBIDDEN")
    with pytest.raises(BadRequest, match=r"(?i)chat_write_forbidden"):
        await bot.send_message(3, "x")


async def test_rate_limits(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.set_rate_limit(global_per_sec=None, per_chat_per_sec=1, group_per_min=None)
    await bot.send_message(11, "first")
    with pytest.raises(RetryAfter) as exc:
        await bot.send_message(11, "second")
    assert _seconds(exc.value.retry_after) == 1
    await bot.send_message(12, "other chat is fine")

    fake.set_rate_limit(global_per_sec=None, per_chat_per_sec=None, group_per_min=20)
    for i in range(20):
        await bot.send_message(-500, f"group {i}")
    with pytest.raises(RetryAfter) as exc:
        await bot.send_message(-500, "21st")
    assert 1 <= _seconds(exc.value.retry_after) <= 60

    fake.set_rate_limit(global_per_sec=2, per_chat_per_sec=None, group_per_min=None)
    await bot.send_message(21, "a")
    await bot.send_message(22, "b")
    with pytest.raises(RetryAfter):
        await bot.send_message(23, "c")
    await bot.send_message(23, "paid", allow_paid_broadcast=True)
    assert fake.stats.too_many_requests == 3


async def test_blocked_and_unknown_chats(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.block(77)
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(77, "hi")
    fake.unblock(77)
    await bot.send_message(77, "hi again")
    fake.add_member_update(78, "kicked", old_status="member")  # the user blocks the bot
    with pytest.raises(Forbidden):
        await bot.send_message(78, "hi")

    with FakeTelegram(strict_chats=True) as strict:
        async with telegram.Bot(strict.token, base_url=strict.base_url) as b:
            with pytest.raises(BadRequest, match=r"(?i)chat not found"):
                await b.send_message(123, "x")
            strict.user_sends(123, "hello")
            await b.send_message(123, "x")


async def test_chat_members(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.user_sends(-1001, "hi", user_id=5, chat_type="supergroup", title="Readers")
    fake.set_chat_admins(-1001, [5, 6], owner_id=5)
    chat = await bot.get_chat(-1001)
    assert chat.title == "Readers" and chat.type == "supergroup"
    assert (await bot.get_chat_member(-1001, 5)).status == "creator"
    assert (await bot.get_chat_member(-1001, 6)).status == "administrator"
    assert (await bot.get_chat_member(-1001, 7)).status == "member"
    assert [m.user.id for m in await bot.get_chat_administrators(-1001)] == [5, 6]
    assert await bot.send_chat_action(-1001, "typing") is True


async def test_commands_and_webhook(bot: telegram.Bot) -> None:
    assert await bot.set_my_commands([("start", "Start"), ("help", "Help")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Bad-Command", "x")])
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    assert await bot.set_webhook("https://example.com/hook")
    with pytest.raises(telegram.error.Conflict):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""


# ----------------------------------------------------------------------------- raw HTTP shape


def test_raw_http_shapes(fake: FakeTelegram) -> None:
    with httpx.Client() as client:
        r = client.post(f"{fake.api_url}/SENDMESSAGE", json={"chat_id": 5, "text": "json body"})
        assert r.status_code == 200 and r.json()["result"]["text"] == "json body"
        r = client.get(f"{fake.api_url}/sendMessage", params={"chat_id": "5", "text": "query"})
        assert r.json()["result"]["chat"]["id"] == 5
        assert isinstance(r.json()["result"]["date"], int)
        r = client.post(f"{fake.api_url}/noSuchMethod")
        assert r.status_code == 404 and r.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found",
        }
        fake.fail_next(5, code=429, retry_after=4)
        r = client.post(f"{fake.api_url}/sendMessage", data={"chat_id": "5", "text": "x"})
        assert r.status_code == 429
        assert r.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 4",
            "parameters": {"retry_after": 4},
        }
    with FakeTelegram("111:SECRET") as only, httpx.Client() as client:
        r = client.get(f"{only.base_url}222:OTHER/getMe")
        assert r.status_code == 401 and r.json()["description"] == "Unauthorized"
        assert client.get(f"{only.api_url}/getMe").json()["result"]["id"] == 111


# ---------------------------------------------------------------------------- updates/polling


async def test_get_updates_offset_and_allowed_updates(bot: telegram.Bot, fake: FakeTelegram) -> None:
    first = fake.user_sends(5, "/start now", username="ann")
    second = fake.user_sends(5, "plain")
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first, second]
    msg = updates[0].message
    assert msg is not None and msg.text == "/start now" and msg.from_user and msg.from_user.id == 5
    assert msg.entities[0].type == "bot_command" and msg.entities[0].length == 6
    assert len(await bot.get_updates(offset=second, timeout=0)) == 1  # confirms `first`
    assert await bot.get_updates(offset=second + 1, timeout=0) == ()
    assert fake.pending_updates() == []

    sent = await bot.send_message(5, "pick", reply_markup=_kb(InlineKeyboardButton("A", callback_data="a")))
    fake.user_sends(5, "ignored")
    fake.user_presses(5, sent.message_id, "a")
    updates = await bot.get_updates(offset=second + 1, timeout=0, allowed_updates=["callback_query"])
    assert len(updates) == 1 and updates[0].callback_query is not None


async def test_long_poll_wakes_on_new_update(bot: telegram.Bot, fake: FakeTelegram) -> None:
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, fake.user_sends, 5, "late")
    start = loop.time()
    updates = await bot.get_updates(timeout=5)
    assert updates and updates[0].message and updates[0].message.text == "late"
    assert loop.time() - start < 2


async def test_callback_query_answers(bot: telegram.Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_message(5, "pick", reply_markup=_kb(InlineKeyboardButton("A", callback_data="a")))
    qid = fake.user_presses(5, sent.message_id, "a")
    with pytest.raises(ValueError, match="no button"):
        fake.user_presses(5, sent.message_id, "zzz")
    assert fake.unanswered_callbacks() == [qid]
    with pytest.raises(BadRequest):
        await bot.answer_callback_query(qid, "x" * 201)
    assert await bot.answer_callback_query(qid, "Done", show_alert=True)
    assert fake.callback_answers[qid]["text"] == "Done" and fake.callback_answers[qid]["show_alert"]
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(qid)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("12345")


async def test_application_end_to_end(fake: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None and update.effective_message is not None
        await update.effective_message.reply_html(
            "<b>Welcome</b>, "
            + html.escape(update.effective_user.first_name if update.effective_user else "?"),
            reply_markup=_kb(InlineKeyboardButton("More", callback_data="more")),
        )

    async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Loading")
        await query.edit_message_text("More stories")

    app = Application.builder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(more))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        try:
            fake.user_sends(1001, "/start", first_name="Zoë & <Co>")
            rec = await fake.async_wait_for_message(1001, contains="Welcome")
            assert rec["text"] == "Welcome, Zoë & <Co>" and rec["reply_to_message_id"] is None
            qid = fake.user_presses(1001, rec["message_id"], "more")
            await fake.async_wait_for(lambda: fake.callback_answers.get(qid), what="callback answer")
            await fake.async_wait_for(
                lambda: (fake.last(1001) or {}).get("text") == "More stories", what="edit"
            )
            assert fake.callback_answers[qid]["text"] == "Loading"
        finally:
            await app.updater.stop()
            await app.stop()
    assert fake.stats.requests["getUpdates"] >= 1 and fake.pending_updates() == []


def test_thread_mode_with_subprocess_client(fake: FakeTelegram) -> None:
    """A separate process (like `storybot run`) talks to the in-process fake; sync waiters work."""
    script = textwrap.dedent(
        """
        import asyncio, sys, telegram
        async def main():
            async with telegram.Bot(sys.argv[1], base_url=sys.argv[2]) as bot:
                await bot.send_message(555, "<i>from a subprocess</i>", parse_mode="HTML")
        asyncio.run(main())
        """
    )
    subprocess.run(
        [sys.executable, "-c", script, fake.token, fake.base_url], check=True, timeout=60, cwd=ROOT
    )
    rec = fake.wait_for_message(555, contains="subprocess", timeout=5)
    assert rec["text"] == "from a subprocess" and rec["entities"][0]["type"] == "italic"
    with pytest.raises(AssertionError, match="timed out"):
        fake.wait_for_message(555, contains="never", timeout=0.2)


async def test_async_context_manager_mode() -> None:
    async with FakeTelegram() as fake:
        async with telegram.Bot(fake.token, base_url=fake.base_url) as bot:
            await bot.send_message(1, "in-loop")
        assert (await fake.async_wait_for_message(1))["text"] == "in-loop"


def test_standalone_cli_with_rate_limit() -> None:
    port_probe = socket.socket()
    port_probe.bind(("127.0.0.1", 0))
    port = port_probe.getsockname()[1]
    port_probe.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_telegram", "--port", str(port), "--rate", "30"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        assert "listening" in proc.stderr.readline().decode()
        api = f"http://127.0.0.1:{port}/bot123:ANY-token"
        with httpx.Client() as client:
            assert client.get(f"{api}/getme").json()["result"]["is_bot"] is True
            assert client.post(f"{api}/sendMessage", data={"chat_id": "5", "text": "a"}).status_code == 200
            r = client.post(f"{api}/sendMessage", data={"chat_id": "5", "text": "b"})  # 1 msg/s per chat
            assert r.status_code == 429 and r.json()["parameters"]["retry_after"] == 1
            stats = client.get(f"http://127.0.0.1:{port}/_fake/stats").json()["result"]
            assert stats["sends_ok"] == 1 and stats["too_many_requests"] == 1
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


async def test_group_messages_and_bot_added(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.add_member_update(-42, "member", chat_type="group", title="Club", user_id=9)
    fake.user_sends(-42, "/help@storybot_test_bot", user_id=9, first_name="Bob")
    updates = await bot.get_updates(timeout=0)
    assert updates[0].my_chat_member is not None
    assert updates[0].my_chat_member.new_chat_member.status == "member"
    msg = updates[1].message
    assert msg is not None and msg.chat.title == "Club" and msg.chat.type == "group"
    assert msg.from_user is not None and msg.from_user.id == 9
    assert msg.entities[0].type == "bot_command" and msg.entities[0].length == len("/help@storybot_test_bot")
    reply = await bot.send_message(-42, "hi", reply_to_message_id=msg.message_id)
    assert reply.reply_to_message is not None and reply.reply_to_message.message_id == msg.message_id
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(-42, "hi", reply_to_message_id=999)
    fake.add_member_update(-42, "kicked", old_status="member")
    with pytest.raises(Forbidden, match=r"(?i)kicked"):
        await bot.send_message(-42, "still there?")
