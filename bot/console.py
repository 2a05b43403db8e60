"""`storybot console`: the same Application and handlers, with Telegram replaced by this terminal.

ConsoleRequest is a PTB request class that answers Bot API calls locally: getUpdates hands over what
the user types, sendMessage and friends print the rendered message with its buttons numbered.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import sys
import threading
import time
from typing import Any, TextIO

from telegram import Update
from telegram.ext import TypeHandler
from telegram.request import BaseRequest, RequestData

from bot.config import Settings

USER_ID = CHAT_ID = 1000
BOT_USER = {"id": 1, "is_bot": True, "first_name": "Storybot", "username": "storybot_console_bot"}
USER = {"id": USER_ID, "is_bot": False, "first_name": "You", "language_code": "en"}
CHAT = {"id": CHAT_ID, "type": "private", "first_name": "You"}

_TAG = re.compile(r"<(/?)(\w+)([^>]*)>")
_HREF = re.compile(r'href="([^"]*)"')


def to_terminal(markup: str, *, ansi: bool) -> str:
    """Telegram HTML as terminal text: bold and italics as ANSI styles, links with their address."""
    out: list[str] = []
    pos = 0
    hrefs: list[str] = []
    for match in _TAG.finditer(markup):
        out.append(html.unescape(markup[pos : match.start()]))
        closing, tag, attrs = match.group(1) == "/", match.group(2).lower(), match.group(3)
        if tag == "a":
            if closing:
                out.append(f" <{hrefs.pop()}>" if hrefs else "")
            else:
                href = _HREF.search(attrs)
                hrefs.append(html.unescape(href.group(1)) if href else "")
        elif ansi and tag in {"b", "strong"}:
            out.append("\033[0m" if closing else "\033[1m")
        elif ansi and tag in {"i", "em"}:
            out.append("\033[0m" if closing else "\033[3m")
        pos = match.end()
    out.append(html.unescape(markup[pos:]))
    return "".join(out)


class ConsoleRequest(BaseRequest):
    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self._in = stdin or sys.stdin
        self._out = stdout or sys.stdout
        self._ansi = self._out.isatty()
        self._lines: asyncio.Queue[str | None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._update_id = 0
        self._message_id = 0
        self._callback_id = 0
        self._buttons: list[dict[str, Any]] = []
        self._buttons_message: dict[str, Any] | None = None
        self._messages: dict[int, dict[str, Any]] = {}
        self.on_eof: Any = None
        self._closed = False

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        if self._lines is not None:
            return
        loop = asyncio.get_running_loop()
        self._lines = asyncio.Queue()
        lines = self._lines

        def reader() -> None:
            for line in self._in:
                loop.call_soon_threadsafe(lines.put_nowait, line.rstrip("\n"))
            loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=reader, name="console-stdin", daemon=True).start()

    async def shutdown(self) -> None:
        return None

    def handled(self) -> None:
        """Called after each update has run through every handler."""
        self._idle.set()

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api = url.rsplit("/", 1)[-1].lower()
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        result = await self._answer(api, params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    async def _answer(self, api: str, params: dict[str, Any]) -> Any:
        if api == "getme":
            return {
                **BOT_USER,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if api == "getupdates":
            return await self._updates(float(params.get("timeout") or 0))
        if api in {"sendmessage", "editmessagetext", "sendphoto", "copymessage"}:
            return self._show(api, params)
        if api == "answercallbackquery":
            if params.get("text"):
                self._print(f"  ({params['text']})")
            return True
        if api in {"getchat"}:
            return CHAT
        return True

    def _show(self, api: str, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text") or params.get("caption") or "")
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if api == "editmessagetext" and params.get("message_id"):
            message_id = int(params["message_id"])
            self._print("(updated)")
        else:
            self._message_id += 1
            message_id = self._message_id
        self._print("")
        self._print(to_terminal(text, ansi=self._ansi))
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": CHAT,
            "from": BOT_USER,
            "text": re.sub(r"<[^>]+>", "", text),
        }
        if markup and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
            self._buttons = [b for row in markup["inline_keyboard"] for b in row]
            self._buttons_message = message
            for number, b in enumerate(self._buttons, 1):
                target = f" <{b['url']}>" if b.get("url") else ""
                self._print(f"  [{number}] {b.get('text', '')}{target}")
        self._messages[message_id] = message
        return message

    def _close(self) -> None:
        # Once only: stopping the application twice stops its event loop mid-shutdown.
        if not self._closed and self.on_eof:
            self._closed = True
            self.on_eof()

    async def _updates(self, wait: float) -> list[dict[str, Any]]:
        assert self._lines is not None
        if self._closed:
            await asyncio.sleep(0.05)
            return []
        # One update at a time, after the previous one is fully handled: "2" then picks a button of
        # the reply to the line before it, even when lines are piped in all at once.
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=30)
        except TimeoutError:
            pass
        if self._lines.empty() and self._in.isatty():
            self._out.write("\n> ")
            self._out.flush()
        try:
            line = await asyncio.wait_for(self._lines.get(), timeout=max(wait, 0.1))
        except TimeoutError:
            return []
        if line is None or line.strip() in {"/quit", "/exit"}:
            self._close()
            return []
        line = line.strip()
        if not line:
            self._idle.set()
            return []
        self._idle.clear()
        self._update_id += 1
        if line.isdigit() and self._buttons and 1 <= int(line) <= len(self._buttons):
            chosen = self._buttons[int(line) - 1]
            if chosen.get("url"):
                self._print(f"  (opens {chosen['url']} in the browser)")
                self._idle.set()
                return []
            self._callback_id += 1
            return [
                {
                    "update_id": self._update_id,
                    "callback_query": {
                        "id": str(self._callback_id),
                        "from": USER,
                        "chat_instance": "console",
                        "data": chosen.get("callback_data"),
                        "message": self._buttons_message,
                    },
                }
            ]
        self._message_id += 1
        message: dict[str, Any] = {
            "message_id": self._message_id,
            "date": int(time.time()),
            "chat": CHAT,
            "from": USER,
            "text": line,
        }
        if line.startswith("/"):
            command = line.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return [{"update_id": self._update_id, "message": message}]


async def _prepare(settings: Settings, sample_feed: str) -> None:
    """The console starts with stories: the bundled sample feed when the database has none."""
    from sqlalchemy import func, select

    from bot.feeds import import_from
    from storage.db import create_engine, session_factory, upgrade
    from storage.models import Feed

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as session:
            feeds = await session.scalar(select(func.count(Feed.id)))
        if not feeds:
            await import_from(sessions, sample_feed)
    finally:
        await engine.dispose()


def run(settings: Settings, *, sample_feed: str) -> int:
    from bot.app import build_application

    if settings.log_level != "DEBUG":
        logging.getLogger().setLevel(logging.WARNING)
    asyncio.run(_prepare(settings, sample_feed))
    request = ConsoleRequest()
    app = build_application(settings, request=request)
    request.on_eof = app.stop_running

    async def handled(update: object, context: object) -> None:
        request.handled()

    app.add_handler(TypeHandler(Update, handled), group=100)
    print(
        "Storybot console: type /start, /story Istanbul, /trending, or a question. A number picks a button."
    )
    print("Ctrl-D or /quit to leave.")
    app.run_polling(allowed_updates=Update.ALL_TYPES, stop_signals=None, close_loop=False)
    return 0
