"""Handler tests through PTB itself, with the Bot API answered in-process by a strict local layer."""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.app import build_application
from bot.config import Settings, load_settings
from bot.context import BotApplication
from bot.feeds import import_from
from storage.db import create_engine, session_factory, upgrade
from tests.fake_telegram_parse import ParseError, parse_html, u16len

BOT = {"id": 42, "is_bot": True, "first_name": "Storybot", "username": "storybot_test_bot"}


class LocalBotAPI(BaseRequest):
    """Records every call; refuses what Telegram would refuse (bad HTML, > 4096, callback data > 64 bytes)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[dict[str, Any]] = []
        self.answered: dict[str, dict[str, Any]] = {}
        self.admins: dict[int, set[int]] = {}  # group chat id → admin user ids (getChatMember)
        self._ids = itertools.count(1000)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

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
        api = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append((api, params))
        try:
            result = self._answer(api, params)
        except ValueError as exc:
            return 400, json.dumps(
                {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
            ).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _answer(self, api: str, params: dict[str, Any]) -> Any:
        if api == "getMe":
            return {
                **BOT,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if api in {"sendMessage", "editMessageText"}:
            try:
                text, _ = parse_html(params["text"])
            except ParseError as exc:
                raise ValueError(f"can't parse entities: {exc}") from None
            if u16len(text) > 4096:
                raise ValueError("message is too long")
            markup = params.get("reply_markup")
            for row in (markup or {}).get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(data.encode()) <= 64:
                        raise ValueError("BUTTON_DATA_INVALID")
            message = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": params["chat_id"], "type": "private"},
                "from": BOT,
                "text": text,
                "html": params["text"],
                **({"reply_markup": markup} if markup else {}),
            }
            self.sent.append(message)
            return {k: v for k, v in message.items() if k != "html"}
        if api == "getChatMember":
            chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
            status = "administrator" if user_id in self.admins.get(chat_id, set()) else "member"
            user = {"id": user_id, "is_bot": False, "first_name": "Ann"}
            if status == "administrator":
                rights = ("can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
                          "can_manage_video_chats", "can_restrict_members", "can_promote_members",
                          "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
                          "can_delete_stories")  # fmt: skip
                return {"status": status, "user": user, **dict.fromkeys(rights, False)}
            return {"status": status, "user": user}
        if api == "answerCallbackQuery":
            self.answered[params["callback_query_id"]] = params
            return True
        return True


class Harness:
    """One Application with its real handlers, a database, and a user who talks to it."""

    def __init__(self, settings: Settings) -> None:
        self.api = LocalBotAPI()
        self.app: BotApplication = build_application(settings, request=self.api)
        self._update_ids = itertools.count(1)
        self._callbacks = itertools.count(1)
        self.pressed: list[str] = []

    async def __aenter__(self) -> Harness:
        await self.app.initialize()
        assert self.app.post_init is not None
        await self.app.post_init(self.app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.app.shutdown()
        assert self.app.post_shutdown is not None
        await self.app.post_shutdown(self.app)

    async def _process(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        before = len(self.api.sent)
        await self.app.process_update(Update.de_json(payload, self.app.bot))
        return self.api.sent[before:]

    async def send(
        self,
        text: str,
        *,
        chat_id: int = 500,
        reply_to: dict[str, Any] | None = None,
        chat_type: str = "private",
        user_id: int | None = None,
    ) -> list[dict[str, Any]]:
        message: dict[str, Any] = {
            "message_id": next(self._update_ids) + 100_000,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type, "first_name": "Ann"},
            "from": {"id": user_id or chat_id, "is_bot": False, "first_name": "Ann"},
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if reply_to is not None:
            message["reply_to_message"] = {k: v for k, v in reply_to.items() if k != "html"}
        return await self._process({"update_id": next(self._update_ids), "message": message})

    async def press(
        self,
        data: str,
        *,
        message: dict[str, Any] | None = None,
        chat_id: int = 500,
        chat_type: str = "private",
        user_id: int | None = None,
    ) -> list[dict[str, Any]]:
        query_id = str(next(self._callbacks))
        self.pressed.append(query_id)
        origin = message or {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type},
            "from": BOT,
            "text": "card",
        }
        return await self._process(
            {
                "update_id": next(self._update_ids),
                "callback_query": {
                    "id": query_id,
                    "from": {"id": user_id or chat_id, "is_bot": False, "first_name": "Ann"},
                    "chat_instance": "1",
                    "data": data,
                    "message": {k: v for k, v in origin.items() if k != "html"},
                },
            }
        )

    async def member_status(self, status: str, *, chat_id: int = 500, old: str = "member") -> None:
        """The user blocks (``kicked``) or unblocks (``member``) the bot: a my_chat_member update."""
        user = {"id": chat_id, "is_bot": False, "first_name": "Ann"}
        await self._process(
            {
                "update_id": next(self._update_ids),
                "my_chat_member": {
                    "chat": {"id": chat_id, "type": "private", "first_name": "Ann"},
                    "from": user,
                    "date": int(time.time()),
                    "old_chat_member": {"user": BOT, "status": old, "until_date": 0},
                    "new_chat_member": {"user": BOT, "status": status, "until_date": 0},
                },
            }
        )

    def unanswered(self) -> list[str]:
        return [q for q in self.pressed if q not in self.api.answered]


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    markup = message.get("reply_markup") or {}
    return [
        (b["text"], b.get("callback_data") or b.get("url", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


SAMPLE_FEED = Path(__file__).resolve().parent.parent / "storage" / "data" / "sample_feed.json"


@contextlib.asynccontextmanager
async def sample_bot(tmp_path: Path) -> AsyncIterator[Harness]:
    """A Harness on a fresh SQLite database holding the bundled sample feed; checks every callback was answered."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    await import_from(session_factory(engine), str(SAMPLE_FEED))
    await engine.dispose()
    settings = load_settings(
        {"DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": "123456:TEST-token-for-handlers"}, dotenv=None
    )
    async with Harness(settings) as harness:
        yield harness
    assert harness.unanswered() == [], "every callback query must be answered"
