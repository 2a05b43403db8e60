"""Settings: every bad value named at start; secrets kept out of logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.cli import RedactSecrets
from bot.config import ConfigError, load_settings


def test_defaults_need_nothing() -> None:
    settings = load_settings({}, dotenv=None)
    assert settings.telegram_bot_token is None
    assert settings.database_url == "sqlite+aiosqlite:///storybot.db"
    assert settings.admin_ids == frozenset()
    assert settings.story_feed_interval_min is None


def test_values_are_parsed() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": "123456:AAE-abcdefghijklmnop",
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot",
            "DATABASE_URL": "postgresql://bot:secret@db/storybot",
            "ADMIN_IDS": "1, 22 ,333",
            "STORY_FEED_URL": "https://example.org/feed.json",
        },
        dotenv=None,
    )
    assert settings.database_url == "postgresql+asyncpg://bot:secret@db/storybot"
    assert settings.redacted_database_url() == "postgresql+asyncpg://bot:***@db/storybot"
    assert settings.admin_ids == {1, 22, 333}
    assert settings.story_feed_interval_min == 15
    assert "AAE-abc" not in repr(settings)


def test_every_bad_value_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {
                "TELEGRAM_BOT_TOKEN": "oops",
                "DATABASE_URL": "mysql://x",
                "ADMIN_IDS": "12,bob",
                "STORY_FEED_URL": "feed.json",
                "STORY_FEED_INTERVAL_MIN": "-1",
                "DELIVERY_RATE": "fast",
            },
            dotenv=None,
        )
    text = str(caught.value)
    for name in [
        "TELEGRAM_BOT_TOKEN",
        "DATABASE_URL",
        "ADMIN_IDS",
        "STORY_FEED_URL",
        "STORY_FEED_INTERVAL_MIN",
        "DELIVERY_RATE",
    ]:
        assert name in text
    assert "oops" not in text


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text('# comment\nADMIN_IDS="5,6"\nexport LOG_LEVEL=debug\nSTORY_FEED_URL=\n')
    settings = load_settings({"LOG_LEVEL": "warning"}, dotenv=env_file)
    assert settings.admin_ids == {5, 6}
    assert settings.log_level == "WARNING"


def test_the_token_never_reaches_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    token = "123456:AAE-abcdefghijklmnop"
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactSecrets([token]))
    with caplog.at_level(logging.INFO):
        logger.info("POST https://api.telegram.org/bot%s/getUpdates", token)
    assert token not in caplog.text
    assert "[token]" in caplog.text


def test_semantic_matching_is_on_unless_switched_off() -> None:
    assert load_settings({}, dotenv=None).semantic_matching is True
    assert load_settings({"SEMANTIC_MATCHING": "off"}, dotenv=None).semantic_matching is False
    with pytest.raises(ConfigError) as error:
        load_settings({"SEMANTIC_MATCHING": "sometimes"}, dotenv=None)
    assert "SEMANTIC_MATCHING must be on or off" in str(error.value)


def test_outbox_rows_are_kept_thirty_days_unless_told_otherwise() -> None:
    assert load_settings({}, dotenv=None).outbox_keep_days == 30
    assert load_settings({"OUTBOX_KEEP_DAYS": "0"}, dotenv=None).outbox_keep_days == 0
    with pytest.raises(ConfigError) as error:
        load_settings({"OUTBOX_KEEP_DAYS": "-1"}, dotenv=None)
    assert "OUTBOX_KEEP_DAYS must be at least 0" in str(error.value)
