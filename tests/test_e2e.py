"""End to end: the real `storybot run` process, long polling a strict fake Bot API on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bot_process import BotProcess, storybot, storybot_env
from tests.conftest import SAMPLE_FEED
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import button_data as buttons

ISTANBUL = next(
    t for t in json.loads(SAMPLE_FEED.read_text())["threads"] if t["id"] == "istanbul-talks-2025-06"
)
CHAT = 777001


def test_a_user_gets_cards_and_answers_from_the_real_process(fake: FakeTelegram, tmp_path: Path) -> None:
    env = storybot_env(tmp_path, fake.base_url, fake.token)
    imported = storybot("import", str(SAMPLE_FEED), env=env, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "new" in imported.stdout

    with BotProcess(env, tmp_path) as bot:
        try:
            fake.user_sends(CHAT, "/start")
            welcome = fake.wait_for_message(CHAT, "/story", timeout=30)
            assert welcome["parse_mode"] == "HTML"

            fake.user_sends(CHAT, "/story Istambul")
            card = fake.wait_for_message(CHAT, "Istanbul Talks", after=welcome["message_id"])
            assert "79 articles" in card["text"]
            labels = buttons(card)
            assert f"❓ {ISTANBUL['qa'][0]['q']}" in labels

            query_id = fake.user_presses(CHAT, card["message_id"], labels[f"❓ {ISTANBUL['qa'][0]['q']}"])
            answer = fake.wait_for_message(CHAT, ISTANBUL["qa"][0]["a"][:60], after=card["message_id"])
            fake.wait_for(lambda: query_id in fake.callback_answers, what="the callback query answered")

            fake.user_sends(CHAT, "what are the main points of the talks?")
            follow_up = fake.wait_for_message(CHAT, "matches the stored question", after=answer["message_id"])
            assert ISTANBUL["qa"][0]["a"] in follow_up["text"]

            fake.user_sends(CHAT, "who won the eurovision song contest")
            refusal = fake.wait_for_message(CHAT, "does not answer", after=follow_up["message_id"])
            assert all(qa["a"] not in refusal["text"] for qa in ISTANBUL["qa"])
            assert fake.unanswered_callbacks() == []
            assert fake.stats.requests["setMyCommands"] == 1, "the command menu is set at start"
            assert fake.stats.errors == {}, "Telegram refused nothing the bot sent"
        finally:
            code = bot.stop()
        assert code == 0, bot.log()
    log = bot.log()
    assert fake.token not in log and fake.token.split(":")[1] not in log, "the token must never be logged"


def test_a_broken_feed_exits_non_zero_and_changes_nothing(fake: FakeTelegram, tmp_path: Path) -> None:
    env = storybot_env(tmp_path, fake.base_url, fake.token)
    assert storybot("import", str(SAMPLE_FEED), env=env, cwd=tmp_path).returncode == 0
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1, "threads": "nope"')
    result = storybot("import", str(broken), env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert "nothing changed" in result.stderr
    again = storybot("import", str(SAMPLE_FEED), env=env, cwd=tmp_path)
    assert "0 new, 0 updated" in again.stdout


def test_bad_settings_are_reported_one_per_line(tmp_path: Path) -> None:
    env = storybot_env(
        tmp_path, "ftp://nope", "not-a-token", ADMIN_IDS="12,abc", STORY_FEED_INTERVAL_MIN="soon"
    )
    result = storybot("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    for name in ["TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "ADMIN_IDS", "STORY_FEED_INTERVAL_MIN"]:
        assert name in result.stderr
    assert "not-a-token" not in result.stderr
