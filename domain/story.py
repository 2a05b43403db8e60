"""A story thread as the domain sees it: plain data, no database, no Telegram."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Story:
    key: int
    slug: str
    title: str
    summary: str
    rank: int | None = None
    previous_rank: int | None = None
    virality: float | None = None
    article_count: int | None = None
    first_seen: datetime | None = None
    perspectives: dict[str, str] = field(default_factory=dict)
    brief: tuple[str, ...] = ()
    ai_generated: bool = False
    qa: tuple[tuple[str, str], ...] = ()
    leaning: dict[str, float] = field(default_factory=dict)
    regions: dict[str, float] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    articles: tuple[dict[str, Any], ...] = ()
    in_feed: bool = True
