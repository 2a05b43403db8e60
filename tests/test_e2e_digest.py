"""End to end: subscribe through the real `storybot run` process, receive the digest once, open a card."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.bot_process import BotProcess, storybot, storybot_env
from tests.conftest import SAMPLE_FEED
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import button_data as buttons

CHAT = 777002
ZONE = "Asia/Tokyo"


def test_a_subscriber_gets_the_digest_once_at_their_local_time(fake: FakeTelegram, tmp_path: Path) -> None:
    env = storybot_env(tmp_path, fake.base_url, fake.token, DIGEST_TICK_SECONDS="1")
    assert storybot("import", str(SAMPLE_FEED), env=env, cwd=tmp_path).returncode == 0

    with BotProcess(env, tmp_path) as bot:
        try:
            fake.user_sends(CHAT, "/start")
            fake.wait_for_message(CHAT, "/story", timeout=30)
            # The next whole minute in Tokyo that leaves a few seconds to subscribe before it.
            local = (datetime.now(UTC) + timedelta(seconds=8)).astimezone(ZoneInfo(ZONE))
            target = (local + timedelta(minutes=1)).replace(second=0, microsecond=0)
            fake.user_sends(CHAT, f"/subscribe {target:%H:%M} {ZONE}")
            confirmed = fake.wait_for_message(CHAT, "Subscribed", timeout=15)
            assert f"{target:%H:%M}" in confirmed["text"] and "today" in confirmed["text"]

            wait = (target - datetime.now(UTC)).total_seconds() + 20
            digest = fake.wait_for_message(
                CHAT, "🗞 Your daily digest", timeout=wait, after=confirmed["message_id"]
            )
            assert time.time() >= target.timestamp(), "not before its time"
            assert "Istanbul Talks" in digest["text"]
            labels = buttons(digest)
            assert len(labels) == 5, "a button per thread, 5 stories by default"
            data = next(d for label, d in labels.items() if "Istanbul" in label)

            query_id = fake.user_presses(CHAT, digest["message_id"], data)
            card = fake.wait_for_message(CHAT, "79 articles", after=digest["message_id"])
            assert card["text"].startswith("Istanbul Talks")
            fake.wait_for(lambda: query_id in fake.callback_answers, what="the button answered")

            time.sleep(3)  # a few more ticks: still one digest
            digests = [m for m in fake.sent(CHAT) if "🗞 Your daily digest" in (m["text"] or "")]
            assert len(digests) == 1
            assert fake.stats.errors == {}, "Telegram refused nothing the bot sent"
        finally:
            code = bot.stop()
        assert code == 0, bot.log()


def test_a_feed_imported_while_the_bot_runs_pushes_a_breaking_card_once(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    import json

    env = storybot_env(tmp_path, fake.base_url, fake.token, DIGEST_TICK_SECONDS="1")
    assert storybot("import", str(SAMPLE_FEED), env=env, cwd=tmp_path).returncode == 0
    document = json.loads(SAMPLE_FEED.read_text())
    ranks = {t["id"]: t["rank"] for t in document["threads"]}
    fifth = next(t for t in document["threads"] if t["rank"] == 5)
    first = next(t for t in document["threads"] if t["rank"] == 1)
    first["rank"], fifth["rank"] = ranks[fifth["id"]], ranks[first["id"]]
    document["generated_at"] = "2099-01-01T00:00:00Z"
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(document))

    with BotProcess(env, tmp_path) as bot:
        try:
            fake.user_sends(CHAT, "/subscribe 04:00 UTC")
            confirmed = fake.wait_for_message(CHAT, "Subscribed", timeout=30)
            assert storybot("import", str(newer), env=env, cwd=tmp_path).returncode == 0
            card = fake.wait_for_message(CHAT, "Breaking", timeout=20, after=confirmed["message_id"])
            assert fifth["title"] in card["text"] and "now #1" in card["text"]
            time.sleep(3)
            assert sum("Breaking" in (m["text"] or "") for m in fake.sent(CHAT)) == 1
            assert fake.stats.errors == {}
        finally:
            code = bot.stop()
        assert code == 0, bot.log()
