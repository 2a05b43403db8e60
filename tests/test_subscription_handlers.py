"""/subscribe, /settings and /unsubscribe as a user sees them, through PTB with a local Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.models import Subscription
from tests.local_bot import Harness, buttons, sample_bot

NOW = datetime(2026, 1, 5, 5, 0, tzinfo=UTC)  # 06:00 in Berlin, a Monday
GROUP, ADMIN, MEMBER = -100500, 71, 72


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    async with sample_bot(tmp_path) as harness:
        harness.app.bot_data.clock = lambda: NOW
        yield harness


async def stored(bot: Harness, chat_id: int = 500) -> Subscription | None:
    async with bot.app.bot_data.sessions() as session:
        return await session.get(Subscription, chat_id)


def data_of(message: dict, label_part: str) -> str:  # type: ignore[type-arg]
    return next(d for label, d in buttons(message) if label_part in label)


async def test_subscribe_in_one_go(bot: Harness) -> None:
    (reply,) = await bot.send("/subscribe 07:30 Europe/Berlin")
    assert "Subscribed" in reply["text"] and "07:30 (Europe/Berlin)" in reply["text"]
    assert "today at 07:30" in reply["text"]
    sub = await stored(bot)
    assert sub is not None and sub.active and sub.next_due_at is not None
    assert sub.next_due_at.replace(tzinfo=UTC) == datetime(2026, 1, 5, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("command", "expected"),
    [("/subscribe 7am", "07:00"), ("/subscribe 19:00 UTC+3", "19:00 (UTC+03:00)"),
     ("/subscribe 6:45pm New York", "18:45 (America/New_York)")],
)  # fmt: skip
async def test_subscribe_forms(bot: Harness, command: str, expected: str) -> None:
    replies = await bot.send(command)
    if command == "/subscribe 7am":  # no zone yet: asked with buttons
        assert "time zone" in replies[0]["text"]
        (done,) = await bot.press(data_of(replies[0], "Berlin"))
        assert "07:00 (Europe/Berlin)" in done["text"]
    else:
        assert expected in replies[0]["text"]


@pytest.mark.parametrize("command", ["/subscribe 25:00", "/subscribe 07:30 Mars", "/subscribe soon please"])
async def test_bad_input_gets_a_clear_message_with_an_example(bot: Harness, command: str) -> None:
    (reply,) = await bot.send(command)
    assert "⚠️" in reply["text"] and "/subscribe 07:30 Europe/Berlin" in reply["text"]
    sub = await stored(bot)
    assert sub is None or not sub.active


async def test_subscribe_step_by_step_with_buttons_and_a_typed_city(bot: Harness) -> None:
    (ask_time,) = await bot.send("/subscribe")
    assert "When should" in ask_time["text"]
    (ask_zone,) = await bot.press(data_of(ask_time, "08:00"), message=ask_time)
    assert "time zone" in ask_zone["text"]
    (done,) = await bot.send("Tokyo")  # typed instead of a button
    assert "Subscribed" in done["text"] and "08:00 (Asia/Tokyo)" in done["text"]
    (again,) = await bot.send("what happened in Istanbul")  # no longer awaited: a normal search
    assert "Subscribed" not in again["text"]


async def test_typed_zone_errors_keep_asking(bot: Harness) -> None:
    await bot.send("/subscribe 7am")
    (error,) = await bot.send("Atlantis")
    assert "don't know the time zone" in error["text"]
    (done,) = await bot.send("UTC-5")
    assert "07:00 (UTC-05:00)" in done["text"]


async def test_settings_menu_changes_are_stored_at_once(bot: Harness) -> None:
    await bot.send("/subscribe 07:30 Europe/Berlin")
    (menu,) = await bot.send("/settings")
    for fact in ["Time: 07:30", "Europe/Berlin", "Stories per digest: 5", "Breaking cards: on"]:
        assert fact in menu["text"]
    (menu,) = await bot.press(data_of(menu, "More stories"), message=menu)
    assert "Stories per digest: 6" in menu["text"]
    assert (await stored(bot)).size == 6  # type: ignore[union-attr]
    for _ in range(6):
        (menu,) = await bot.press(data_of(menu, "More stories"), message=menu)
    assert (await stored(bot)).size == 10, "at most 10"  # type: ignore[union-attr]
    (menu,) = await bot.press(data_of(menu, "Breaking"), message=menu)
    assert "Breaking cards: off" in menu["text"] and not (await stored(bot)).breaking  # type: ignore[union-attr]
    (menu,) = await bot.press(data_of(menu, "Quiet-day"), message=menu)
    assert not (await stored(bot)).quiet_note  # type: ignore[union-attr]

    (quiet,) = await bot.press(data_of(menu, "Quiet hours"), message=menu)
    (menu,) = await bot.press(data_of(quiet, "22:00–07:00"), message=quiet)
    assert "22:00–07:00" in menu["text"]
    sub = await stored(bot)
    assert sub is not None and (sub.quiet_start, sub.quiet_end) == (1320, 420)

    (time_menu,) = await bot.press(data_of(menu, "Time"), message=menu)
    assert "When should" in time_menu["text"]
    (menu,) = await bot.send("9:15")
    assert "Time: 09:15" in menu["text"] and "today at 09:15" in menu["text"]

    (menu,) = await bot.press(data_of(menu, "Pause"), message=menu)
    sub = await stored(bot)
    assert sub is not None and sub.paused and sub.next_due_at is None and sub.digest_minute == 555
    (menu,) = await bot.press(data_of(menu, "Resume"), message=menu)
    sub = await stored(bot)
    assert sub is not None and not sub.paused and sub.next_due_at is not None and sub.size == 10


async def test_topics_follow_mute_and_typed(bot: Harness) -> None:
    await bot.send("/subscribe 07:30 Europe/Berlin")
    (menu,) = await bot.send("/settings")
    (topics,) = await bot.press(data_of(menu, "Topics"), message=menu)
    assert buttons(topics), "topics of today's stories offered"
    follow = next(d for _, d in buttons(topics) if d.startswith("st:f:"))
    (topics,) = await bot.press(follow, message=topics)
    tag = follow.split(":", 2)[2]
    assert (await stored(bot)).follow == [tag]  # type: ignore[union-attr]
    (topics,) = await bot.press(f"st:m:{tag}", message=topics)
    sub = await stored(bot)
    assert sub is not None and sub.mute == [tag] and sub.follow == [], "muting unfollows"
    (prompt,) = await bot.press(data_of(topics, "Type topics to follow"), message=topics)
    assert "Type the topics to follow" in prompt["text"]
    (menu,) = await bot.send("Climate, Space Exploration")
    assert "climate, space-exploration" in menu["text"]


async def test_unsubscribe_asks_first_and_keeps_the_settings(bot: Harness) -> None:
    (nothing,) = await bot.send("/unsubscribe")
    assert "not subscribed" in nothing["text"]
    await bot.send("/subscribe 07:30 Europe/Berlin")
    (question,) = await bot.send("/unsubscribe")
    assert (await stored(bot)).active  # type: ignore[union-attr]
    (done,) = await bot.press(data_of(question, "Yes, unsubscribe"), message=question)
    assert "Unsubscribed" in done["text"]
    sub = await stored(bot)
    assert sub is not None and not sub.active and sub.next_due_at is None and sub.digest_minute == 450
    (back,) = await bot.send("/subscribe")
    assert "07:30 (Europe/Berlin)" in back["text"], "coming back restores the settings"


async def test_in_a_group_only_admins_change_the_digest(bot: Harness) -> None:
    bot.api.admins[GROUP] = {ADMIN}
    (refused,) = await bot.send("/subscribe 08:00 UTC", chat_id=GROUP, chat_type="supergroup", user_id=MEMBER)
    assert "only its admins" in refused["text"]
    assert await stored(bot, GROUP) is None
    (done,) = await bot.send("/subscribe 08:00 UTC", chat_id=GROUP, chat_type="supergroup", user_id=ADMIN)
    assert "Subscribed" in done["text"]
    (menu,) = await bot.send("/settings", chat_id=GROUP, chat_type="supergroup", user_id=MEMBER)
    assert "Time: 08:00" in menu["text"], "anyone may look"
    await bot.press(data_of(menu, "More stories"), chat_id=GROUP, chat_type="supergroup", user_id=MEMBER)
    query_id = bot.pressed[-1]
    assert "only its admins" in bot.api.answered[query_id].get("text", "")
    assert (await stored(bot, GROUP)).size == 5  # type: ignore[union-attr]
    await bot.press(data_of(menu, "More stories"), chat_id=GROUP, chat_type="supergroup", user_id=ADMIN)
    assert (await stored(bot, GROUP)).size == 6  # type: ignore[union-attr]


async def test_digest_buttons_open_cards(bot: Harness) -> None:
    from datetime import timedelta

    from storage.subscriptions import enqueue_due_digests

    await bot.send("/subscribe 07:30 Europe/Berlin")
    async with bot.app.bot_data.sessions() as session:
        report = await enqueue_due_digests(session, now=NOW + timedelta(minutes=90), grace=timedelta(hours=3))
        await session.commit()
        from storage.models import Campaign

        campaign = await session.get(Campaign, report.campaign_ids[0])
        assert campaign is not None
        payload = campaign.payload
    data = payload["buttons"][0][0]["data"]
    (card,) = await bot.press(data)
    assert "articles" in card["text"], "the digest's button opens the card in the chat"
