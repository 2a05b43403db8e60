"""/broadcast, its buttons, /broadcast_cancel and /stats through PTB and the real handlers.

The delivery engine does not run here (no HTTP Bot API): these tests look at what is queued.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from telegram import Message

from bot.config import load_settings
from handlers.broadcast import draft_payload
from storage.db import create_engine, upgrade
from storage.models import Campaign, Chat, Outbox
from tests.local_bot import Harness, buttons

ADMIN = 500
USER = 600


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Chat),
            [
                {
                    "id": i,
                    "type": "private",
                    "started_at": now,
                    "last_seen_at": now,
                    "blocked_at": now if i % 10 == 0 else None,
                }
                for i in range(1001, 1051)
            ],
        )
    await engine.dispose()
    settings = load_settings(
        {
            "DATABASE_URL": url,
            "TELEGRAM_BOT_TOKEN": "123456:TEST-token-for-handlers",
            "ADMIN_IDS": str(ADMIN),
        },
        dotenv=None,
    )
    async with Harness(settings) as harness:
        yield harness
    assert harness.unanswered() == [], "every callback query must be answered"


async def count(bot: Harness, model: Any, *where: Any) -> int:
    async with bot.app.bot_data.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def data_of(message: dict[str, Any], label: str) -> str:
    return next(d for t, d in buttons(message) if label in t)


async def test_non_admins_are_refused_politely_and_logged(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        for command in ("/broadcast hello all", "/stats", "/broadcast_cancel"):
            (reply,) = await bot.send(command, chat_id=USER)
            assert "only the bot's admins" in reply["text"]
    assert await count(bot, Campaign) == 0
    assert sum("refused" in r.message for r in caplog.records) == 3
    (answer,) = [await bot.press("bc:ok:1", chat_id=USER)]
    assert answer == [] and await count(bot, Outbox) == 0


async def test_preview_then_confirm_queues_every_active_chat(bot: Harness) -> None:
    preview, question = await bot.send("/broadcast <b>Big</b> news & more", chat_id=ADMIN)
    # Exactly what subscribers get: the admin's text, escaped once.
    assert preview["html"] == "&lt;b&gt;Big&lt;/b&gt; news &amp; more"
    assert "46 chats" in question["text"]  # 50 subscribers - 5 blocked + the admin
    assert await count(bot, Outbox) == 0, "nothing is queued before Confirm"
    await bot.press(data_of(question, "Confirm"), message=question, chat_id=ADMIN)
    assert await count(bot, Outbox, Outbox.status == "pending") == 46
    # The question became the progress message, with a Stop button.
    (edit,) = [p for api, p in bot.api.calls if api == "editMessageText"]
    assert edit["message_id"] == question["message_id"] and "sending" in edit["text"]
    assert "bc:stop:1" in str(edit["reply_markup"])
    # A second Confirm (double tap) queues nothing more.
    await bot.press(data_of(question, "Confirm"), message=question, chat_id=ADMIN)
    assert await count(bot, Outbox) == 46


async def test_cancel_on_the_preview_queues_nothing(bot: Harness) -> None:
    _preview, question = await bot.send("/broadcast hello", chat_id=ADMIN)
    await bot.press(data_of(question, "Cancel"), message=question, chat_id=ADMIN)
    await bot.press(data_of(question, "Confirm"), message=question, chat_id=ADMIN)
    assert await count(bot, Outbox) == 0
    assert await count(bot, Campaign, Campaign.status == "cancelled") == 1


async def test_stop_button_and_broadcast_cancel_stop_what_is_not_sent(bot: Harness) -> None:
    _preview, question = await bot.send("/broadcast first", chat_id=ADMIN)
    await bot.press(data_of(question, "Confirm"), message=question, chat_id=ADMIN)
    await bot.press("bc:stop:1", message=question, chat_id=ADMIN)
    assert await count(bot, Outbox, Outbox.status == "cancelled") == 46
    report = bot.api.sent[-1]
    assert "stopped" in report["text"] and "cancelled 46" in report["text"]

    _preview, question = await bot.send("/broadcast second", chat_id=ADMIN)
    await bot.press(data_of(question, "Confirm"), message=question, chat_id=ADMIN)
    await bot.send("/broadcast_cancel", chat_id=ADMIN)
    assert await count(bot, Outbox, Outbox.status == "cancelled") == 92
    (nothing,) = await bot.send("/broadcast_cancel", chat_id=ADMIN)
    assert "No broadcast is being sent" in nothing["text"]


async def test_stats_for_admins(bot: Harness) -> None:
    _preview, question = await bot.send("/broadcast hi", chat_id=ADMIN)
    await bot.press(data_of(question, "Confirm"), message=question, chat_id=ADMIN)
    (stats,) = await bot.send("/stats", chat_id=ADMIN)
    assert "Active: 46 · blocked: 5" in stats["text"]
    assert "Outbox: 46 waiting" in stats["text"]
    assert "#1 broadcast — active: 0/46 sent" in stats["text"]


async def test_usage_without_text(bot: Harness) -> None:
    (usage,) = await bot.send("/broadcast", chat_id=ADMIN)
    assert "/broadcast your text" in usage["text"]


def test_a_reply_to_a_photo_is_copied_with_its_caption(bot: Harness) -> None:
    photo = {
        "message_id": 7,
        "date": 0,
        "chat": {"id": ADMIN, "type": "private"},
        "photo": [{"file_id": "AgACAgIAAxkBAAIB" * 2, "file_unique_id": "u", "width": 1, "height": 1}],
        "caption": "Look",
    }
    command = {
        "message_id": 8,
        "date": 0,
        "chat": {"id": ADMIN, "type": "private"},
        "text": "/broadcast",
        "entities": [{"type": "bot_command", "offset": 0, "length": 10}],
        "reply_to_message": photo,
    }
    message = Message.de_json(command, bot.app.bot)
    assert message is not None
    assert draft_payload(message) == {"type": "copy", "from_chat_id": ADMIN, "message_id": 7}
