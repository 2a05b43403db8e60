"""Settings from the environment (and an optional `.env`), validated once at start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///storybot.db"
_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{10,}$")


class ConfigError(ValueError):
    """Every bad setting, one line each, so a user can fix them all in one go."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Settings:
    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_api_base_url: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    admin_ids: frozenset[int] = frozenset()
    story_feed_url: str | None = None
    story_feed_interval_min: float | None = None
    delivery_rate: float = 30.0
    # How long a worker holds claimed outbox rows; a crashed worker's rows come back after it.
    delivery_lease_seconds: float = 30.0
    digest_grace_hours: float = 3.0
    breaking_virality_jump: float = 2.0
    breaking_daily_cap: int = 3
    # How often the scheduler looks for due digests and breaking cards (tests use 1).
    digest_tick_seconds: float = 60.0
    log_level: str = "INFO"
    # Finished campaigns' outbox rows are deleted after this many days (their counts stay); 0 keeps them.
    outbox_keep_days: float = 30.0
    # Follow-up matching with sentence vectors as well as words (bot.answers); off saves ~120 MiB.
    semantic_matching: bool = True

    def redacted_database_url(self) -> str:
        """The URL without its password, for logs."""
        return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", self.database_url)


def normalize_database_url(url: str) -> str:
    """Accept the URLs people paste and pick the async driver we ship."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://") and not url.startswith("sqlite+"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; '#' comments; optional quotes. Enough for a bot's settings file."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _number(env: Mapping[str, str], name: str, problems: list[str], *, minimum: float) -> float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name} must be a number, got {raw!r}")
        return None
    if value < minimum:
        problems.append(f"{name} must be at least {minimum:g}, got {raw!r}")
        return None
    return value


_SWITCH = {
    "on": True,
    "off": False,
    "1": True,
    "0": False,
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
}


def load_settings(env: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")) -> Settings:
    """Read and validate; raise ConfigError listing every problem. Real env vars win over `.env`."""
    merged: dict[str, str] = read_dotenv(dotenv) if dotenv else {}
    merged.update(os.environ if env is None else env)
    problems: list[str] = []

    token = merged.get("TELEGRAM_BOT_TOKEN", "").strip() or None
    if token and not _TOKEN.match(token):
        # Never echo the token itself: it is a secret even when malformed.
        problems.append("TELEGRAM_BOT_TOKEN does not look like a bot token (expected '<digits>:<letters>')")

    base_url = merged.get("TELEGRAM_API_BASE_URL", "").strip() or None
    if base_url and not re.match(r"^https?://[^\s/]+", base_url):
        problems.append(f"TELEGRAM_API_BASE_URL must be an http(s) URL, got {base_url!r}")

    database_url = normalize_database_url(merged.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL)
    if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        problems.append("DATABASE_URL must be a sqlite:// or postgresql:// URL")

    admin_ids: set[int] = set()
    for part in merged.get("ADMIN_IDS", "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if re.fullmatch(r"-?\d{1,20}", part):
            admin_ids.add(int(part))
        else:
            problems.append(f"ADMIN_IDS must be comma-separated Telegram user ids, got {part!r}")

    feed_url = merged.get("STORY_FEED_URL", "").strip() or None
    if feed_url and not re.match(r"^https?://\S+$", feed_url):
        problems.append(f"STORY_FEED_URL must be an http(s) URL, got {feed_url!r}")
    interval = _number(merged, "STORY_FEED_INTERVAL_MIN", problems, minimum=0.1)
    if feed_url and interval is None and not merged.get("STORY_FEED_INTERVAL_MIN", "").strip():
        interval = 15.0

    rate = _number(merged, "DELIVERY_RATE", problems, minimum=0.1)
    lease = _number(merged, "DELIVERY_LEASE_SECONDS", problems, minimum=1)
    grace = _number(merged, "DIGEST_GRACE_HOURS", problems, minimum=0)
    jump = _number(merged, "BREAKING_VIRALITY_JUMP", problems, minimum=0)
    cap = _number(merged, "BREAKING_DAILY_CAP", problems, minimum=0)
    tick = _number(merged, "DIGEST_TICK_SECONDS", problems, minimum=0.2)
    keep = _number(merged, "OUTBOX_KEEP_DAYS", problems, minimum=0)
    log_level = merged.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        problems.append(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")

    semantic = merged.get("SEMANTIC_MATCHING", "on").strip().lower() or "on"
    if semantic not in _SWITCH:
        problems.append(f"SEMANTIC_MATCHING must be on or off, got {semantic!r}")

    if problems:
        raise ConfigError(problems)
    return Settings(
        telegram_bot_token=token,
        telegram_api_base_url=base_url,
        database_url=database_url,
        admin_ids=frozenset(admin_ids),
        story_feed_url=feed_url,
        story_feed_interval_min=interval,
        delivery_rate=rate if rate is not None else 30.0,
        delivery_lease_seconds=lease if lease is not None else 30.0,
        digest_grace_hours=grace if grace is not None else 3.0,
        breaking_virality_jump=jump if jump is not None else 2.0,
        breaking_daily_cap=int(cap) if cap is not None else 3,
        digest_tick_seconds=tick if tick is not None else 60.0,
        log_level=log_level,
        semantic_matching=_SWITCH.get(semantic, True),
        outbox_keep_days=keep if keep is not None else 30.0,
    )
