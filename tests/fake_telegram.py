# ruff: noqa: ASYNC109  (async_wait_for* take timeout= to mirror the sync waiters)
"""A small, strict fake of the Telegram Bot API for tests and benchmarks.

The real bot (python-telegram-bot 22, long polling) talks to it over HTTP on 127.0.0.1 with
``base_url=fake.base_url``. Replies have Telegram's shape (``{"ok": true, "result": ...}``, errors
``{"ok": false, "error_code": N, "description": "..."}`` plus ``parameters.retry_after`` for 429) so
PTB raises the same exceptions it would against the real server.

Usage::

    with FakeTelegram() as fake:                      # background thread with its own event loop
        bot = telegram.Bot(fake.token, base_url=fake.base_url)
        fake.user_sends(42, "/start")
        fake.wait_for_message(42, contains="Welcome")

    async with FakeTelegram() as fake: ...            # on the running loop (use the async_* waiters)

    python -m tests.fake_telegram --port 8081 --rate 30   # standalone, for benches/manual runs

Requests may be query strings, form-encoded (what PTB sends: JSON-encoded values for nested
objects), multipart (uploads) or JSON bodies. Nothing is logged per request.

Deliberate simplifications / choices:

* Parsing rules are in ``tests.fake_telegram_parse``; HTML ``&`` handling is stricter than the real
  server by default (``strict_html_entities``).
* Text is trimmed like Telegram does; lengths are counted after parsing+trimming in UTF-16 units.
  Automatic url/mention/hashtag entities are *not* added to returned messages.
* Rate limits (``set_rate_limit``) count only message-creating calls (sendMessage, sendPhoto,
  copyMessage, forwardMessage) that passed validation; edits and chat actions are free.
* Unknown chat ids are auto-created (positive → private, ``-100…`` → supergroup, other negative →
  group) unless ``strict_chats=True``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import itertools
import json
import math
import re
import signal
import socket
import sys
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.fake_telegram_parse import (
    ParseError,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    strip_text,
    u16len,
)

__all__ = ["FakeStats", "FakeTelegram", "TelegramError"]

DEFAULT_TOKEN = "123456789:AAFakeTokenForStorybotTests_0123456789"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_ANSWER = 200
_TOKEN_RE = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{1,100}$")
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{1,64})?")
_BOT_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_URL_RE = re.compile(r"^(?:https?://[^\s/?#]+[^\s]*|tg://[^\s]+)$", re.IGNORECASE)
_FILE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{20,}$")
_SEND_METHODS = frozenset({"sendmessage", "sendphoto", "copymessage", "forwardmessage"})
_FAILABLE_METHODS = _SEND_METHODS | {"editmessagetext", "editmessagereplymarkup", "editmessagecaption"}
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)  # everything except chat_member, message_reaction and message_reaction_count
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_pin_messages",
    "can_manage_topics",
)
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)

Params = dict[str, Any]


class TelegramError(Exception):
    """An error reply: raised inside method handlers, turned into Telegram's error JSON."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _bad(description: str) -> TelegramError:
    return TelegramError(400, f"Bad Request: {description}")


@dataclass
class FakeStats:
    """Counters; read them directly (``fake.stats.sends_ok``)."""

    requests: Counter[str] = field(default_factory=Counter)  # by canonical method name
    errors: Counter[int] = field(default_factory=Counter)  # by error_code
    too_many_requests: int = 0
    sends_ok: int = 0
    edits_ok: int = 0
    updates_delivered: int = 0

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "total_requests": self.total_requests,
            "errors": {str(k): v for k, v in self.errors.items()},
            "too_many_requests": self.too_many_requests,
            "sends_ok": self.sends_ok,
            "edits_ok": self.edits_ok,
            "updates_delivered": self.updates_delivered,
        }


class _Window:
    """Sliding-window counter: at most ``limit`` events per ``span`` seconds."""

    __slots__ = ("events", "limit", "span")

    def __init__(self, limit: int, span: float) -> None:
        self.limit = limit
        self.span = span
        self.events: deque[float] = deque()

    def retry_after(self, now: float, limit: int | None = None) -> int:
        """0 if one more event fits, else whole seconds until it would."""
        events = self.events
        horizon = now - self.span
        while events and events[0] <= horizon:
            events.popleft()
        cap = self.limit if limit is None else limit
        if len(events) < cap:
            return 0
        return max(1, math.ceil(events[-cap] + self.span - now))


@dataclass
class _Failure:
    chat_id: int | None
    remaining: int
    code: int
    retry_after: int
    description: str | None
    methods: frozenset[str]


# ----------------------------------------------------------------------------------- param helpers


def _get_int(p: Params, key: str, default: int | None = None) -> int | None:
    value = p.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise _bad(f'field "{key}" must be of type Integer')
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise _bad(f'field "{key}" must be of type Integer') from None


def _get_bool(p: Params, key: str) -> bool:
    value = p.get(key)
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in ("true", "1")


def _get_json(p: Params, key: str, what: str) -> Any:
    value = p.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {what} JSON object") from None
    return value


def _get_str(p: Params, key: str) -> str | None:
    value = p.get(key)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


class FakeTelegram:
    """Fake Bot API server. See the module docstring for usage."""

    def __init__(
        self,
        token: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        strict_chats: bool = False,
        strict_html_entities: bool = True,
        bot_first_name: str = "Storybot Test",
        bot_username: str = "storybot_test_bot",
    ) -> None:
        """``token=None`` uses DEFAULT_TOKEN and accepts any well-formed token; a given token is
        the only one accepted (others get 401 Unauthorized)."""
        self._accept_any_token = token is None
        self.token = token or DEFAULT_TOKEN
        if not _TOKEN_RE.match(self.token):
            raise ValueError(f"malformed bot token {self.token!r}")
        self.host = host
        self.port = port
        self.strict_chats = strict_chats
        self.strict_html_entities = strict_html_entities
        self.bot_id = int(self.token.split(":", 1)[0])
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.stats = FakeStats()

        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._poll_fut: asyncio.Future[str] | None = None

        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._usernames: dict[str, int] = {}
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._sent: list[dict[str, Any]] = []
        self._updates: deque[dict[str, Any]] = deque()
        self._update_ids = itertools.count(100_000_001)
        self._allowed_updates: frozenset[str] = _DEFAULT_UPDATE_TYPES
        self._callbacks: dict[str, dict[str, Any]] = {}
        self._callback_ids = itertools.count(4_000_000_000_000_000_001)
        self._blocked: dict[int, str] = {}
        self._failures: list[_Failure] = []
        self._admins: dict[int, list[int]] = {}
        self._owners: dict[int, int] = {}
        self._commands: dict[str, list[dict[str, str]]] = {}
        self._webhook_url = ""
        self._files: dict[str, list[dict[str, Any]]] = {}
        self._file_counter = itertools.count(1)
        self._global_window: _Window | None = None
        self._chat_limit: int | None = None
        self._group_limit: int | None = None
        self._chat_windows: dict[int, _Window] = {}
        self._group_windows: dict[int, _Window] = {}

        self._methods: dict[str, Callable[[Params], Any]] = {
            "getme": self._get_me,
            "logout": self._true,
            "close": self._true,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "copymessage": self._copy_message,
            "forwardmessage": self._forward_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "editmessagecaption": self._edit_message_caption,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._send_chat_action,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "getchatadministrators": self._get_chat_administrators,
            "leavechat": self._leave_chat,
            "getupdates": self._true,  # async; dispatched specially in _handle
        }
        self._canonical = {name.lower(): name for name in _CANONICAL_NAMES}

    # =============================================================================== lifecycle

    @property
    def base_url(self) -> str:
        """What to pass as PTB's ``base_url`` (the token is appended by PTB)."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def api_url(self) -> str:
        """Full URL prefix for raw HTTP clients: ``{api_url}/sendMessage``."""
        return f"{self.base_url}{self.token}"

    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        return app

    async def _start_server(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._closing = False
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._runner = web.AppRunner(
            self._make_app(), access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.SockSite(self._runner, sock, backlog=1024)
        await site.start()

    async def _stop_server(self) -> None:
        self._closing = True
        self._wake_poller("closing")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> FakeTelegram:
        """Run the server in a daemon thread with its own event loop; returns self."""
        if self._thread is not None:
            raise RuntimeError("FakeTelegram already started")
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start_server())
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="FakeTelegram", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("FakeTelegram did not start within 10 s")
        if errors:
            self._thread = None
            raise errors[0]
        return self

    def stop(self) -> None:
        """Stop the background server (idempotent)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop_server(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeTelegram:
        await self._start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stop_server()

    async def serve_forever(self) -> None:
        """Run on the current loop until cancelled (used by the CLI)."""
        await self._start_server()
        try:
            await asyncio.Event().wait()
        finally:
            await self._stop_server()

    # ============================================================================ HTTP plumbing

    @staticmethod
    def _json_response(payload: dict[str, Any], status: int = 200) -> web.Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return web.Response(body=body, status=status, content_type="application/json")

    def _error_response(self, err: TelegramError) -> web.Response:
        payload: dict[str, Any] = {"ok": False, "error_code": err.code, "description": err.description}
        if err.retry_after is not None:
            payload["parameters"] = {"retry_after": err.retry_after}
        with self._lock:
            self.stats.errors[err.code] += 1
            if err.code == 429:
                self.stats.too_many_requests += 1
        return self._json_response(payload, err.code)

    async def _read_params(self, request: web.Request) -> Params:
        params: Params = dict(request.query) if request.query_string else {}
        if not request.body_exists:
            return params
        ctype = request.content_type
        if ctype == "multipart/form-data":
            form = await request.post()
            for key, value in form.items():
                params[key] = value  # str or web.FileField
            return params
        body = await request.read()
        if not body:
            return params
        if ctype == "application/json":
            try:
                data = json.loads(body)
            except ValueError:
                raise _bad("can't parse JSON object") from None
            if not isinstance(data, dict):
                raise _bad("can't parse JSON object")
            params.update(data)
        else:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        if path.startswith("/_fake/"):
            return await self._handle_control(request, path[7:])
        parts = path.split("/")
        # ['', 'bot<token>', '<method>']
        if len(parts) != 3 or not parts[1].startswith("bot"):
            return self._json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        token = parts[1][3:]
        if not _TOKEN_RE.match(token) or (not self._accept_any_token and token != self.token):
            return self._error_response(TelegramError(401, "Unauthorized"))
        method = parts[2].lower()
        handler = self._methods.get(method)
        if handler is None:
            return self._error_response(TelegramError(404, "Not Found"))
        try:
            params = await self._read_params(request)
            if method == "getupdates":
                with self._lock:
                    self.stats.requests["getUpdates"] += 1
                result = await self._get_updates(params)
            else:
                with self._lock:
                    self.stats.requests[self._canonical[method]] += 1
                    result = handler(params)
        except TelegramError as err:
            return self._error_response(err)
        except Exception as exc:  # a bug in the fake: say so loudly
            traceback.print_exc()
            return self._error_response(TelegramError(500, f"Internal Server Error: fake bug: {exc!r}"))
        return self._json_response({"ok": True, "result": result})

    # ================================================================================ chats/users

    def _default_chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Group {-chat_id}"}

    def _resolve_chat(self, value: Any) -> dict[str, Any]:
        if value is None or value == "":
            raise _bad("chat_id is empty")
        chat_id: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            chat_id = value
        else:
            text = str(value).strip()
            if text.startswith("@"):
                chat_id = self._usernames.get(text[1:].lower())
            else:
                with contextlib.suppress(ValueError):
                    chat_id = int(text)
        if chat_id is None or chat_id == 0:
            raise _bad("chat not found")
        chat = self._chats.get(chat_id)
        if chat is None:
            if self.strict_chats:
                raise _bad("chat not found")
            chat = self._chats[chat_id] = self._default_chat(chat_id)
        return chat

    def _check_chat_writable(self, chat_id: int, method: str) -> None:
        reason = self._blocked.get(chat_id)
        if reason is not None:
            raise TelegramError(403, reason)
        if self._failures:
            self._maybe_fail(chat_id, method)

    def _maybe_fail(self, chat_id: int | None, method: str) -> None:
        for failure in self._failures:
            if failure.chat_id not in (None, chat_id) or method not in failure.methods:
                continue
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.remove(failure)
            code = failure.code
            if code == 429:
                raise TelegramError(
                    429, f"Too Many Requests: retry after {failure.retry_after}", failure.retry_after
                )
            description = failure.description
            if description is None:
                description = {
                    400: "Bad Request: injected failure",
                    403: "Forbidden: bot was blocked by the user",
                    500: "Internal Server Error",
                    502: "Bad Gateway",
                }.get(code, "Injected failure")
            raise TelegramError(code, description)

    def _user(self, user_id: int, first_name: str = "Ann", username: str | None = None) -> dict[str, Any]:
        user = self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
            self._users[user_id] = user
        if username:
            user["username"] = username
            self._usernames[username.lower()] = user_id
        return user

    def _user_or_stub(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            return self.bot_user
        return self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}

    def _new_message_id(self, chat_id: int) -> int:
        mid = self._next_message_id.get(chat_id, 0) + 1
        self._next_message_id[chat_id] = mid
        return mid

    # ============================================================================ rate limiting

    def _check_rate(self, chat: dict[str, Any], paid: bool) -> None:
        """Raise 429 if a send to ``chat`` now would exceed a limit; else record it."""
        gw = self._global_window
        if gw is None and self._chat_limit is None and self._group_limit is None:
            return
        now = time.monotonic()
        chat_id = chat["id"]
        windows: list[_Window] = []
        wait = 0
        if gw is not None:
            wait = max(wait, gw.retry_after(now, 1000 if paid else None))
            windows.append(gw)
        if self._chat_limit is not None:
            cw = self._chat_windows.get(chat_id)
            if cw is None:
                cw = self._chat_windows[chat_id] = _Window(self._chat_limit, 1.0)
            wait = max(wait, cw.retry_after(now))
            windows.append(cw)
        if self._group_limit is not None and chat["type"] != "private":
            grw = self._group_windows.get(chat_id)
            if grw is None:
                grw = self._group_windows[chat_id] = _Window(self._group_limit, 60.0)
            wait = max(wait, grw.retry_after(now))
            windows.append(grw)
        if wait:
            raise TelegramError(429, f"Too Many Requests: retry after {wait}", wait)
        for window in windows:
            window.events.append(now)

    # ========================================================================== content checks

    def _parse_text(
        self, text: str | None, parse_mode: str | None, entities: Any, *, caption: bool = False
    ) -> tuple[str, list[dict[str, Any]]]:
        text = text or ""
        if entities is not None:
            if not isinstance(entities, list) or not all(
                isinstance(e, dict) and {"type", "offset", "length"} <= e.keys() for e in entities
            ):
                raise _bad("can't parse entities JSON object")
            plain, ents = text, [dict(e) for e in entities]
        elif parse_mode:
            mode = parse_mode.lower()
            try:
                if mode == "html":
                    plain, ents = parse_html(text, strict_entities=self.strict_html_entities)
                elif mode == "markdownv2":
                    plain, ents = parse_markdown_v2(text)
                elif mode == "markdown":
                    plain, ents = parse_markdown(text)
                else:
                    raise _bad(f'unsupported parse_mode "{parse_mode}"')
            except ParseError as exc:
                raise _bad(f"can't parse entities: {exc}") from None
        else:
            plain, ents = text, []
        plain, ents = strip_text(plain, ents)
        length = u16len(plain)
        if caption:
            if length > MAX_CAPTION:
                raise _bad("message caption is too long")
        else:
            if length == 0:
                raise _bad("message text is empty")
            if length > MAX_TEXT:
                raise _bad("message is too long")
        return plain, ents

    def _parse_markup(self, p: Params) -> dict[str, Any] | None:
        markup = _get_json(p, "reply_markup", "reply keyboard markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad("can't parse inline keyboard button: InlineKeyboardMarkup must be an Array")
            if sum(len(r) for r in rows) > 100:
                raise _bad("reply markup is too long")
            for row in rows:
                for button in row:
                    self._check_button(button)
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad("can't parse reply keyboard markup JSON object")
            for row in rows:
                for button in row:
                    text = button if isinstance(button, str) else (button or {}).get("text")
                    if not isinstance(text, str) or not text:
                        raise _bad('can\'t parse keyboard button: Field "text" must be of type String')
        elif not ("remove_keyboard" in markup or "force_reply" in markup):
            raise _bad("can't parse reply keyboard markup JSON object")
        return markup

    @staticmethod
    def _check_button(button: Any) -> None:
        if not isinstance(button, dict):
            raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        text = button.get("text")
        if not isinstance(text, str):
            raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
        if not text.strip():
            raise _bad("BUTTON_TEXT_INVALID")
        actions = [k for k in _BUTTON_ACTIONS if k in button]
        if not actions:
            raise _bad(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
            )
        if len(actions) > 1:
            # Telegram silently picks one; a strict fake flags the ambiguity (fake-specific wording).
            raise _bad(f"can't parse inline keyboard button: exactly one of {actions} must be used")
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                raise _bad("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not _URL_RE.match(url):
                raise _bad("BUTTON_URL_INVALID")

    def _reply_target(self, p: Params, chat_id: int) -> dict[str, Any] | None:
        reply_to = _get_int(p, "reply_to_message_id")
        allow_missing = _get_bool(p, "allow_sending_without_reply")
        params = _get_json(p, "reply_parameters", "reply parameters")
        if isinstance(params, dict):
            reply_to = _get_int(params, "message_id")
            allow_missing = _get_bool(params, "allow_sending_without_reply")
            if params.get("chat_id") not in (None, "", chat_id):
                chat_id = self._resolve_chat(params["chat_id"])["id"]
        if reply_to is None:
            return None
        rec = self._messages.get((chat_id, reply_to))
        if rec is None or rec["deleted"]:
            if allow_missing:
                return None
            raise _bad("message to be replied not found")
        reply = dict(rec["message"])
        reply.pop("reply_to_message", None)
        return reply

    # ============================================================================ message store

    def _store_outgoing(
        self,
        method: str,
        chat: dict[str, Any],
        p: Params,
        message: dict[str, Any],
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "chat_id": chat["id"],
            "message_id": message["message_id"],
            "method": method,
            "date": message["date"],
            "text": message.get("text"),
            "entities": message.get("entities", []),
            "raw_text": _get_str(p, "text"),
            "parse_mode": _get_str(p, "parse_mode"),
            "reply_markup": extra.pop("reply_markup", None),
            "photo": message.get("photo"),
            "caption": message.get("caption"),
            "caption_entities": message.get("caption_entities", []),
            "reply_to_message_id": (message.get("reply_to_message") or {}).get("message_id"),
            "message_thread_id": message.get("message_thread_id"),
            "link_preview_options": _get_json(p, "link_preview_options", "link preview options"),
            "disable_web_page_preview": _get_bool(p, "disable_web_page_preview"),
            "allow_paid_broadcast": _get_bool(p, "allow_paid_broadcast"),
            "edits": [],
            "deleted": False,
            "outgoing": True,
            "message": message,
            **extra,
        }
        self._messages[(chat["id"], message["message_id"])] = rec
        self._sent.append(rec)
        self.stats.sends_ok += 1
        return rec

    def _base_message(self, chat: dict[str, Any], p: Params) -> dict[str, Any]:
        chat_id = chat["id"]
        message: dict[str, Any] = {
            "message_id": 0,
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
        }
        thread_id = _get_int(p, "message_thread_id")
        if thread_id:
            message["message_thread_id"] = thread_id
        reply = self._reply_target(p, chat_id)
        if reply is not None:
            message["reply_to_message"] = reply
        return message

    def _finish_send(self, chat: dict[str, Any], p: Params, message: dict[str, Any]) -> None:
        self._check_rate(chat, _get_bool(p, "allow_paid_broadcast"))
        message["message_id"] = self._new_message_id(chat["id"])

    # ================================================================================= methods

    def _true(self, p: Params) -> bool:
        return True

    def _get_me(self, p: Params) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _delete_webhook(self, p: Params) -> bool:
        self._webhook_url = ""
        if _get_bool(p, "drop_pending_updates"):
            self._updates.clear()
        return True

    def _set_webhook(self, p: Params) -> bool:
        url = _get_str(p, "url") or ""
        if url and not url.lower().startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook_url = url
        if _get_bool(p, "drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, p: Params) -> dict[str, Any]:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _commands_key(p: Params) -> str:
        scope = _get_json(p, "scope", "bot command scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True) + "|" + (_get_str(p, "language_code") or "")

    def _set_my_commands(self, p: Params) -> bool:
        commands = _get_json(p, "commands", "bot commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        clean: list[dict[str, str]] = []
        for cmd in commands:
            if not isinstance(cmd, dict):
                raise _bad("can't parse BotCommand JSON object")
            name, desc = cmd.get("command"), cmd.get("description")
            if not isinstance(name, str) or not _BOT_COMMAND_RE.match(name):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(desc, str) or not 1 <= len(desc.strip()) <= 256:
                raise _bad("command description must be non-empty")  # wording approximate
            clean.append({"command": name, "description": desc})
        self._commands[self._commands_key(p)] = clean
        return True

    def _get_my_commands(self, p: Params) -> list[dict[str, str]]:
        return list(self._commands.get(self._commands_key(p), []))

    def _delete_my_commands(self, p: Params) -> bool:
        self._commands.pop(self._commands_key(p), None)
        return True

    def _send_message(self, p: Params) -> dict[str, Any]:
        chat = self._resolve_chat(p.get("chat_id"))
        self._check_chat_writable(chat["id"], "sendmessage")
        text, entities = self._parse_text(
            _get_str(p, "text"), _get_str(p, "parse_mode"), _get_json(p, "entities", "entities")
        )
        markup = self._parse_markup(p)
        message = self._base_message(chat, p)
        message["text"] = text
        if entities:
            message["entities"] = entities
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._finish_send(chat, p, message)
        self._store_outgoing("sendMessage", chat, p, message, {"reply_markup": markup})
        return message

    def _photo_sizes(self, p: Params) -> list[dict[str, Any]]:
        value = p.get("photo")
        size = 0
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.get(value[9:])
        if isinstance(value, web.FileField):
            with contextlib.suppress(Exception):
                value.file.seek(0, 2)
                size = value.file.tell()
        elif isinstance(value, str) and value:
            if value in self._files:
                return self._files[value]
            if not (value.lower().startswith(("http://", "https://")) or _FILE_ID_RE.match(value)):
                raise _bad("wrong file identifier/HTTP URL specified")
        else:
            raise _bad("there is no photo in the request")
        n = next(self._file_counter)
        sizes: list[dict[str, Any]] = []
        for k, (w, h) in enumerate(((90, 60), (320, 213), (800, 533))):
            file_id = f"AgACAgIAAxkBAAI{n:08d}x{k}FakePhotoFileId"
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"AQAD{n:08d}{k}",
                    "width": w,
                    "height": h,
                    "file_size": max(1, size // (3 - k)) if size else 1000 * (k + 1),
                }
            )
        for photo_size in sizes:
            self._files[photo_size["file_id"]] = sizes
        return sizes

    def _send_photo(self, p: Params) -> dict[str, Any]:
        chat = self._resolve_chat(p.get("chat_id"))
        self._check_chat_writable(chat["id"], "sendphoto")
        caption, caption_entities = self._parse_text(
            _get_str(p, "caption"),
            _get_str(p, "parse_mode"),
            _get_json(p, "caption_entities", "caption entities"),
            caption=True,
        )
        markup = self._parse_markup(p)
        sizes = self._photo_sizes(p)
        message = self._base_message(chat, p)
        message["photo"] = sizes
        if caption:
            message["caption"] = caption
        if caption_entities:
            message["caption_entities"] = caption_entities
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._finish_send(chat, p, message)
        self._store_outgoing("sendPhoto", chat, p, message, {"reply_markup": markup})
        return message

    def _source_message(self, p: Params, what: str) -> dict[str, Any]:
        from_chat = self._resolve_chat(p.get("from_chat_id"))
        message_id = _get_int(p, "message_id")
        rec = self._messages.get((from_chat["id"], message_id or 0))
        if rec is None or rec["deleted"]:
            raise _bad(f"message to {what} not found")
        return rec

    def _copy_message(self, p: Params) -> dict[str, Any]:
        chat = self._resolve_chat(p.get("chat_id"))
        self._check_chat_writable(chat["id"], "copymessage")
        src = self._source_message(p, "copy")["message"]
        markup = self._parse_markup(p)
        message = self._base_message(chat, p)
        if "text" in src:
            message["text"] = src["text"]
            if src.get("entities"):
                message["entities"] = src["entities"]
        for key in ("photo", "caption", "caption_entities"):
            if key in src:
                message[key] = src[key]
        if p.get("caption") is not None:
            caption, ents = self._parse_text(
                _get_str(p, "caption"),
                _get_str(p, "parse_mode"),
                _get_json(p, "caption_entities", "caption entities"),
                caption=True,
            )
            message.pop("caption_entities", None)
            message["caption"] = caption
            if ents:
                message["caption_entities"] = ents
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._finish_send(chat, p, message)
        self._store_outgoing("copyMessage", chat, p, message, {"reply_markup": markup})
        return {"message_id": message["message_id"]}

    def _forward_message(self, p: Params) -> dict[str, Any]:
        chat = self._resolve_chat(p.get("chat_id"))
        self._check_chat_writable(chat["id"], "forwardmessage")
        src = self._source_message(p, "forward")["message"]
        message = self._base_message(chat, p)
        sender = src.get("from")
        if src["chat"]["type"] in ("private", "group", "supergroup") and sender:
            origin: dict[str, Any] = {"type": "user", "date": src["date"], "sender_user": sender}
        else:
            origin = {"type": "chat", "date": src["date"], "sender_chat": src["chat"]}
        message["forward_origin"] = origin
        for key in ("text", "entities", "photo", "caption", "caption_entities"):
            if key in src:
                message[key] = src[key]
        self._finish_send(chat, p, message)
        self._store_outgoing("forwardMessage", chat, p, message, {})
        return message

    def _editable(self, p: Params, method: str) -> dict[str, Any]:
        if p.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")  # inline messages are not supported by the fake
        chat = self._resolve_chat(p.get("chat_id"))
        self._check_chat_writable(chat["id"], method)
        message_id = _get_int(p, "message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        rec = self._messages.get((chat["id"], message_id))
        if rec is None or rec["deleted"]:
            raise _bad("message to edit not found")
        if not rec["outgoing"]:
            raise _bad("message can't be edited")
        return rec

    def _apply_edit(self, rec: dict[str, Any], method: str, changes: dict[str, Any]) -> dict[str, Any]:
        message = rec["message"]
        # A value of None means "field absent" (e.g. no keyboard), which message.get() also yields.
        if all(message.get(k) == v for k, v in changes.items()):
            raise TelegramError(400, _NOT_MODIFIED)
        rec["edits"].append(
            {
                "method": method,
                "date": int(time.time()),
                "previous": {k: message.get(k) for k in changes},
            }
        )
        new_message = dict(message)
        for key, value in changes.items():
            if value is None:
                new_message.pop(key, None)
            else:
                new_message[key] = value
        new_message["edit_date"] = int(time.time())
        rec["message"] = new_message
        for key in ("text", "caption"):
            rec[key] = new_message.get(key)
        rec["entities"] = new_message.get("entities", [])
        rec["caption_entities"] = new_message.get("caption_entities", [])
        rec["edit_date"] = new_message["edit_date"]
        self.stats.edits_ok += 1
        return new_message

    def _edit_message_text(self, p: Params) -> dict[str, Any]:
        rec = self._editable(p, "editmessagetext")
        if "text" not in rec["message"]:
            raise _bad("there is no text in the message to edit")
        text, entities = self._parse_text(
            _get_str(p, "text"), _get_str(p, "parse_mode"), _get_json(p, "entities", "entities")
        )
        markup = self._parse_markup(p)
        inline = markup if markup is not None and "inline_keyboard" in markup else None
        # Omitting reply_markup in an edit removes the inline keyboard, as in Telegram.
        message = self._apply_edit(
            rec, "editMessageText", {"text": text, "entities": entities or None, "reply_markup": inline}
        )
        rec["raw_text"] = _get_str(p, "text")
        rec["parse_mode"] = _get_str(p, "parse_mode")
        rec["reply_markup"] = inline
        return message

    def _edit_message_caption(self, p: Params) -> dict[str, Any]:
        rec = self._editable(p, "editmessagecaption")
        if "text" in rec["message"]:
            raise _bad("there is no caption in the message to edit")
        caption, ents = self._parse_text(
            _get_str(p, "caption"),
            _get_str(p, "parse_mode"),
            _get_json(p, "caption_entities", "caption entities"),
            caption=True,
        )
        markup = self._parse_markup(p)
        inline = markup if markup is not None and "inline_keyboard" in markup else None
        message = self._apply_edit(
            rec,
            "editMessageCaption",
            {"caption": caption or None, "caption_entities": ents or None, "reply_markup": inline},
        )
        rec["reply_markup"] = inline
        return message

    def _edit_message_reply_markup(self, p: Params) -> dict[str, Any]:
        rec = self._editable(p, "editmessagereplymarkup")
        markup = self._parse_markup(p)
        inline = markup if markup is not None and "inline_keyboard" in markup else None
        message = self._apply_edit(rec, "editMessageReplyMarkup", {"reply_markup": inline})
        rec["reply_markup"] = inline
        return message

    def _delete_message(self, p: Params) -> bool:
        chat = self._resolve_chat(p.get("chat_id"))
        rec = self._messages.get((chat["id"], _get_int(p, "message_id") or 0))
        if rec is None or rec["deleted"]:
            raise _bad("message to delete not found")
        rec["deleted"] = True
        return True

    def _delete_messages(self, p: Params) -> bool:
        chat = self._resolve_chat(p.get("chat_id"))
        ids = _get_json(p, "message_ids", "message identifiers")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad("message identifiers are not specified")
        for mid in ids:
            rec = self._messages.get((chat["id"], int(mid)))
            if rec is not None:
                rec["deleted"] = True
        return True

    def _answer_callback_query(self, p: Params) -> bool:
        qid = _get_str(p, "callback_query_id") or ""
        cb = self._callbacks.get(qid)
        if cb is None or cb["answered"]:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = _get_str(p, "text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER:
            raise _bad("MESSAGE_TOO_LONG")
        cb["answered"] = True
        cb["answer"] = {
            "text": text,
            "show_alert": _get_bool(p, "show_alert"),
            "url": _get_str(p, "url"),
            "cache_time": _get_int(p, "cache_time", 0),
        }
        return True

    def _send_chat_action(self, p: Params) -> bool:
        chat = self._resolve_chat(p.get("chat_id"))
        self._check_chat_writable(chat["id"], "sendchataction")
        if _get_str(p, "action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _get_chat(self, p: Params) -> dict[str, Any]:
        chat = self._resolve_chat(p.get("chat_id"))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    def _member(self, chat: dict[str, Any], user_id: int) -> dict[str, Any]:
        user = self._user_or_stub(user_id)
        chat_id = chat["id"]
        if chat["type"] == "private":
            if user_id == self.bot_id and chat_id in self._blocked:
                return {"status": "kicked", "user": user, "until_date": 0}
            return {"status": "member", "user": user}
        if user_id == self._owners.get(chat_id):
            return {"status": "creator", "user": user, "is_anonymous": False}
        if user_id in self._admins.get(chat_id, ()):
            rights = dict.fromkeys(_ADMIN_RIGHTS, True)
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                **rights,
            }
        if user_id == self.bot_id and chat_id in self._blocked:
            return {"status": "left", "user": user}
        return {"status": "member", "user": user}

    def _get_chat_member(self, p: Params) -> dict[str, Any]:
        chat = self._resolve_chat(p.get("chat_id"))
        user_id = _get_int(p, "user_id")
        if not user_id:
            raise _bad("invalid user_id specified")
        return self._member(chat, user_id)

    def _get_chat_administrators(self, p: Params) -> list[dict[str, Any]]:
        chat = self._resolve_chat(p.get("chat_id"))
        if chat["type"] == "private":
            raise _bad("there are no administrators in the private chat")
        ids: list[int] = []
        owner = self._owners.get(chat["id"])
        if owner is not None:
            ids.append(owner)
        ids.extend(u for u in self._admins.get(chat["id"], []) if u != owner)
        return [self._member(chat, uid) for uid in ids]

    def _leave_chat(self, p: Params) -> bool:
        chat = self._resolve_chat(p.get("chat_id"))
        if chat["type"] == "private":
            raise _bad("chat member status can't be changed in private chats")
        self._blocked[chat["id"]] = "Forbidden: bot is not a member of the group chat"
        return True

    # ================================================================================ getUpdates

    def _take_updates(self, p: Params) -> list[dict[str, Any]]:
        updates = self._updates
        offset = _get_int(p, "offset")
        if offset is not None and offset < 0:
            while len(updates) > -offset:
                updates.popleft()
        elif offset:
            while updates and updates[0]["update_id"] < offset:
                updates.popleft()
        allowed = _get_json(p, "allowed_updates", "allowed updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else _DEFAULT_UPDATE_TYPES
        limit = min(max(_get_int(p, "limit", 100) or 100, 1), 100)
        batch: list[dict[str, Any]] = []
        for update in updates:
            if update["_type"] in self._allowed_updates:
                batch.append({k: v for k, v in update.items() if k != "_type"})
                if len(batch) >= limit:
                    break
        self.stats.updates_delivered += len(batch)
        return batch

    def _wake_poller(self, why: str = "update") -> None:
        fut = self._poll_fut
        if fut is not None and not fut.done():
            fut.set_result(why)

    async def _get_updates(self, p: Params) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        # A newer getUpdates terminates a pending one, as on the real server.
        self._wake_poller("conflict")
        with self._lock:
            if self._webhook_url:
                raise TelegramError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            batch = self._take_updates(p)
        timeout = _get_int(p, "timeout", 0) or 0
        deadline = loop.time() + max(0, timeout)
        while not batch and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            fut: asyncio.Future[str] = loop.create_future()
            self._poll_fut = fut
            try:
                why = await asyncio.wait_for(fut, remaining)
            except TimeoutError:
                why = "timeout"
            finally:
                if self._poll_fut is fut:
                    self._poll_fut = None
            if why == "conflict":
                raise TelegramError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            with self._lock:
                batch = self._take_updates(p)
        return batch

    # ============================================================================= control API

    def _push_update(self, kind: str, payload: dict[str, Any]) -> int:
        with self._lock:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, kind: payload, "_type": kind})
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake_poller)
        return update_id

    def _ensure_chat(
        self, chat_id: int, chat_type: str | None, *, title: str | None = None, first_name: str = "Ann"
    ) -> dict[str, Any]:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._default_chat(chat_id)
            if chat_type:
                chat["type"] = chat_type
            if chat["type"] == "private":
                chat.pop("title", None)
                chat["first_name"] = first_name
            else:
                chat.pop("first_name", None)
                chat.setdefault("title", f"Group {abs(chat_id)}")
            self._chats[chat_id] = chat
        if title and chat["type"] != "private":
            chat["title"] = title
        return chat

    def user_sends(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "Ann",
        chat_type: str = "private",
        reply_to_message_id: int | None = None,
        username: str | None = None,
        title: str | None = None,
    ) -> int:
        """Queue a ``message`` update from a user; returns its update_id.

        A leading ``/command`` gets a ``bot_command`` entity (what PTB's CommandHandler needs).
        In private chats ``user_id`` defaults to ``chat_id``.
        """
        if chat_type == "private" and chat_id < 0:
            chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
        with self._lock:
            uid = user_id if user_id is not None else (chat_id if chat_id > 0 else 1_000_001)
            user = self._user(uid, first_name, username)
            chat = self._ensure_chat(chat_id, chat_type, title=title, first_name=first_name)
            if chat["type"] == "private" and username:
                chat["username"] = username
            message: dict[str, Any] = {
                "message_id": self._new_message_id(chat_id),
                "from": user,
                "chat": chat,
                "date": int(time.time()),
                "text": text,
            }
            m = _COMMAND_RE.match(text)
            if m:
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": u16len(m.group(0))}]
            if reply_to_message_id is not None:
                rec = self._messages.get((chat_id, reply_to_message_id))
                if rec is None:
                    raise ValueError(f"no message {reply_to_message_id} in chat {chat_id} to reply to")
                reply = dict(rec["message"])
                reply.pop("reply_to_message", None)
                message["reply_to_message"] = reply
            self._messages[(chat_id, message["message_id"])] = {
                "chat_id": chat_id,
                "message_id": message["message_id"],
                "message": message,
                "outgoing": False,
                "deleted": False,
                "edits": [],
            }
        return self._push_update("message", message)

    def user_presses(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        check_button: bool = True,
    ) -> str:
        """Queue a ``callback_query`` for a bot message's inline button; returns the query id.

        With ``check_button`` (default) the message's current keyboard must contain a button with
        this callback_data, as a real client can only press existing buttons.
        """
        with self._lock:
            rec = self._messages.get((chat_id, message_id))
            if rec is None or not rec["outgoing"] or rec["deleted"]:
                raise ValueError(f"no bot message {message_id} in chat {chat_id}")
            message = rec["message"]
            if check_button:
                rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
                if not any(b.get("callback_data") == data for row in rows for b in row):
                    raise ValueError(
                        f"message {message_id} in chat {chat_id} has no button with data {data!r}"
                    )
            uid = user_id if user_id is not None else (chat_id if chat_id > 0 else 1_000_001)
            query_id = str(next(self._callback_ids))
            self._callbacks[query_id] = {
                "id": query_id,
                "chat_id": chat_id,
                "message_id": message_id,
                "data": data,
                "user_id": uid,
                "answered": False,
                "answer": None,
            }
            payload = {
                "id": query_id,
                "from": self._user(uid),
                "message": message,
                "chat_instance": str(abs(chat_id) * 7919 + 13),
                "data": data,
            }
        self._push_update("callback_query", payload)
        return query_id

    def add_member_update(
        self,
        chat_id: int,
        new_status: str = "member",
        *,
        old_status: str = "left",
        user_id: int | None = None,
        chat_type: str | None = None,
        title: str | None = None,
        first_name: str = "Ann",
    ) -> int:
        """Queue a ``my_chat_member`` update (the bot's status in ``chat_id`` changed).

        Private chat: ``new_status="kicked"`` means the user blocked the bot (sends then get 403),
        ``"member"`` means unblocked. Groups: ``"member"``/``"administrator"`` = bot added,
        ``"left"``/``"kicked"`` = bot removed.
        """
        with self._lock:
            chat = self._ensure_chat(chat_id, chat_type, title=title, first_name=first_name)
            uid = user_id if user_id is not None else (chat_id if chat_id > 0 else 1_000_001)
            user = self._user(uid, first_name)

            def member(status: str) -> dict[str, Any]:
                m: dict[str, Any] = {"status": status, "user": self.bot_user}
                if status == "kicked":
                    m["until_date"] = 0
                elif status == "administrator":
                    m.update(can_be_edited=False, is_anonymous=False, **dict.fromkeys(_ADMIN_RIGHTS, True))
                elif status == "creator":
                    m["is_anonymous"] = False
                return m

            if new_status in ("kicked", "left"):
                self._blocked[chat_id] = (
                    "Forbidden: bot was blocked by the user"
                    if chat["type"] == "private"
                    else "Forbidden: bot was kicked from the group chat"
                )
            else:
                self._blocked.pop(chat_id, None)
            payload = {
                "chat": chat,
                "from": user,
                "date": int(time.time()),
                "old_chat_member": member(old_status),
                "new_chat_member": member(new_status),
            }
        return self._push_update("my_chat_member", payload)

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Copies of every message the bot sent (optionally only to ``chat_id``), oldest first.

        Keys: chat_id, message_id, method, date, text, entities, raw_text, parse_mode, reply_markup,
        photo, caption, caption_entities, reply_to_message_id, message_thread_id,
        link_preview_options, disable_web_page_preview, allow_paid_broadcast, edits (list of
        {method, date, previous}), deleted, edit_date, message (the current API Message object).
        """
        with self._lock:
            recs = [r for r in self._sent if chat_id is None or r["chat_id"] == chat_id]
            return copy.deepcopy(recs)

    def last(self, chat_id: int | None = None) -> dict[str, Any] | None:
        """The most recent message the bot sent (to ``chat_id``), or None."""
        with self._lock:
            for rec in reversed(self._sent):
                if chat_id is None or rec["chat_id"] == chat_id:
                    return copy.deepcopy(rec)
        return None

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """Current API Message object for any stored message (user or bot), or None."""
        with self._lock:
            rec = self._messages.get((chat_id, message_id))
            return copy.deepcopy(rec["message"]) if rec else None

    @property
    def callback_answers(self) -> dict[str, dict[str, Any]]:
        """query id → {text, show_alert, url, cache_time} for answered callback queries."""
        with self._lock:
            return {q: dict(cb["answer"]) for q, cb in self._callbacks.items() if cb["answered"]}

    def unanswered_callbacks(self) -> list[str]:
        with self._lock:
            return [q for q, cb in self._callbacks.items() if not cb["answered"]]

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot (getUpdates offset)."""
        with self._lock:
            return [{k: v for k, v in u.items() if k != "_type"} for u in self._updates]

    def block(self, chat_id: int, description: str | None = None) -> None:
        """Sends to ``chat_id`` now fail with 403 (default: "Forbidden: bot was blocked by the user")."""
        with self._lock:
            self._blocked[chat_id] = description or (
                "Forbidden: bot was blocked by the user"
                if chat_id > 0
                else "Forbidden: bot was kicked from the group chat"
            )

    def unblock(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.pop(chat_id, None)

    def fail_next(
        self,
        chat_id: int | None,
        n: int = 1,
        code: int = 429,
        retry_after: int = 1,
        description: str | None = None,
        *,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Make the next ``n`` send/edit calls to ``chat_id`` (None: any chat) fail with ``code``.

        429 carries ``retry_after``; other codes use ``description`` or a Telegram-like default
        (400 "Bad Request: injected failure", 403 blocked, 500, 502). ``methods`` restricts which
        Bot API methods are affected (default: sendMessage/sendPhoto/copyMessage/forwardMessage and
        the editMessage* methods).
        """
        wanted = frozenset(m.lower() for m in methods) if methods else _FAILABLE_METHODS
        if description is not None and code == 400 and not description.startswith("Bad Request"):
            description = f"Bad Request: {description}"
        with self._lock:
            self._failures.append(_Failure(chat_id, n, code, retry_after, description, wanted))

    def set_rate_limit(
        self,
        global_per_sec: int | None = 30,
        per_chat_per_sec: int | None = 1,
        group_per_min: int | None = 20,
    ) -> None:
        """Enforce Telegram's flood limits with 429 + retry_after (sliding windows; None disables one).

        ``allow_paid_broadcast=True`` requests get a global cap of 1000/s instead.
        """
        with self._lock:
            self._global_window = _Window(global_per_sec, 1.0) if global_per_sec else None
            self._chat_limit = per_chat_per_sec or None
            self._group_limit = group_per_min or None
            self._chat_windows.clear()
            self._group_windows.clear()

    def clear_rate_limit(self) -> None:
        self.set_rate_limit(None, None, None)

    def set_chat_admins(self, chat_id: int, user_ids: Iterable[int], *, owner_id: int | None = None) -> None:
        """Administrators (and optionally the owner) of a group for getChatMember/Administrators."""
        with self._lock:
            self._ensure_chat(chat_id, None)
            self._admins[chat_id] = list(user_ids)
            if owner_id is not None:
                self._owners[chat_id] = owner_id

    def stats_snapshot(self) -> dict[str, Any]:
        """A consistent copy of the counters (safe to call from any thread)."""
        with self._lock:
            return self.stats.as_dict()

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = FakeStats()

    # ------------------------------------------------------------------------------- waiting

    def _dump(self) -> str:
        with self._lock:
            lines = [f"stats: {self.stats.as_dict()}", f"pending updates: {len(self._updates)}"]
            lines.append(f"last {min(len(self._sent), 15)} of {len(self._sent)} sent messages:")
            for rec in self._sent[-15:]:
                body = rec["text"] if rec["text"] is not None else f"[photo] {rec['caption']!r}"
                lines.append(f"  chat={rec['chat_id']} id={rec['message_id']} {rec['method']}: {body!r}")
        return "\n".join(lines)

    def _check_not_loop_thread(self) -> None:
        if self._loop is not None and self._thread is None:
            with contextlib.suppress(RuntimeError):
                if asyncio.get_running_loop() is self._loop:
                    raise RuntimeError("FakeTelegram runs on this loop: use `await fake.async_wait_for(...)`")

    def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 10,
        *,
        what: str = "condition",
        interval: float = 0.01,
    ) -> Any:
        """Poll ``predicate()`` until truthy and return its value; AssertionError with a dump on timeout."""
        self._check_not_loop_thread()
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self._dump()}")
            time.sleep(interval)

    async def async_wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 10,
        *,
        what: str = "condition",
        interval: float = 0.01,
    ) -> Any:
        """Async variant of :meth:`wait_for` (use inside a running event loop)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self._dump()}")
            await asyncio.sleep(interval)

    def _message_matcher(
        self, chat_id: int | None, contains: str | None, after: int | None
    ) -> Callable[[], dict[str, Any] | None]:
        def find() -> dict[str, Any] | None:
            with self._lock:
                for rec in self._sent:
                    if chat_id is not None and rec["chat_id"] != chat_id:
                        continue
                    if after is not None and rec["message_id"] <= after:
                        continue
                    body = rec["text"] if rec["text"] is not None else (rec["caption"] or "")
                    if contains is None or contains in body:
                        return copy.deepcopy(rec)
            return None

        return find

    def wait_for_message(
        self,
        chat_id: int | None,
        contains: str | None = None,
        timeout: float = 10,
        *,
        after: int | None = None,
    ) -> dict[str, Any]:
        """Wait until the bot sent a message to ``chat_id`` (text/caption containing ``contains``,
        message_id > ``after``) and return its record (see :meth:`sent`)."""
        what = f"a message to chat {chat_id}" + (f" containing {contains!r}" if contains else "")
        result: dict[str, Any] = self.wait_for(
            self._message_matcher(chat_id, contains, after), timeout, what=what
        )
        return result

    async def async_wait_for_message(
        self,
        chat_id: int | None,
        contains: str | None = None,
        timeout: float = 10,
        *,
        after: int | None = None,
    ) -> dict[str, Any]:
        what = f"a message to chat {chat_id}" + (f" containing {contains!r}" if contains else "")
        result: dict[str, Any] = await self.async_wait_for(
            self._message_matcher(chat_id, contains, after), timeout, what=what
        )
        return result

    # ======================================================================= HTTP control API

    async def _handle_control(self, request: web.Request, name: str) -> web.Response:
        """Tiny JSON control API for the standalone server (benches, manual runs):
        GET /_fake/stats, GET /_fake/sent?chat_id=N, POST /_fake/user_sends {chat_id, text, ...},
        POST /_fake/reset_stats, POST /_fake/block {chat_id}, POST /_fake/rate {global_per_sec,...}."""
        try:
            body: dict[str, Any] = await request.json() if request.body_exists else {}
            if name == "stats":
                result: Any = self.stats_snapshot()
            elif name == "sent":
                cid = request.query.get("chat_id")
                result = [
                    {k: v for k, v in r.items() if k != "message"}
                    for r in self.sent(int(cid) if cid else None)
                ]
            elif name == "user_sends":
                result = self.user_sends(**body)
            elif name == "reset_stats":
                self.reset_stats()
                result = True
            elif name == "block":
                self.block(int(body["chat_id"]))
                result = True
            elif name == "rate":
                self.set_rate_limit(**body)
                result = True
            else:
                return self._json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        except (TypeError, ValueError, KeyError) as exc:
            return self._json_response({"ok": False, "error_code": 400, "description": repr(exc)}, 400)
        return self._json_response({"ok": True, "result": result})


_CANONICAL_NAMES = (
    "getMe",
    "logOut",
    "close",
    "deleteWebhook",
    "setWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "sendMessage",
    "sendPhoto",
    "copyMessage",
    "forwardMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
    "deleteMessage",
    "deleteMessages",
    "answerCallbackQuery",
    "sendChatAction",
    "getChat",
    "getChatMember",
    "getChatAdministrators",
    "leaveChat",
    "getUpdates",
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server (tests/benchmarks)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=None, help="only accept this token (default: any)")
    parser.add_argument("--rate", type=int, default=0, help="global sends/s limit (0 = no limits)")
    parser.add_argument("--per-chat", type=int, default=1, help="per-chat sends/s when --rate is set")
    parser.add_argument("--group-per-min", type=int, default=20, help="group sends/min when --rate is set")
    parser.add_argument("--strict-chats", action="store_true", help="unknown chat ids → chat not found")
    args = parser.parse_args(argv)
    fake = FakeTelegram(args.token, host=args.host, port=args.port, strict_chats=args.strict_chats)
    if args.rate:
        fake.set_rate_limit(args.rate, args.per_chat or None, args.group_per_min or None)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await fake._start_server()
        print(f"fake Telegram listening: base_url={fake.base_url} token={fake.token}", file=sys.stderr)
        try:
            await stop.wait()
        finally:
            await fake._stop_server()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()


def button_data(record: dict[str, Any]) -> dict[str, str]:
    """A sent message's inline buttons as {label: callback_data}."""
    rows = (record.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b.get("callback_data", "") for row in rows for b in row}
