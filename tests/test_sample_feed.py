"""The shipped sample feed must satisfy the feed format (shared/story-feed.md) so demos and fixtures import cleanly."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

FEED = Path(__file__).resolve().parents[1] / "storage" / "data" / "sample_feed.json"
_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


@pytest.fixture(scope="module")
def feed() -> dict[str, Any]:
    return json.loads(FEED.read_text(encoding="utf-8"))


def _rfc3339(value: str) -> bool:
    # fromisoformat accepts "Z" from 3.11 on; an offset is mandatory in the feed format.
    return datetime.fromisoformat(value).tzinfo is not None and "T" in value


def test_document_level_rules(feed: dict[str, Any]) -> None:
    assert feed["version"] == 1
    assert _rfc3339(feed["generated_at"])
    assert len(feed["threads"]) >= 14
    ids = [t["id"] for t in feed["threads"]]
    assert len(set(ids)) == len(ids)
    ranks = sorted(t["rank"] for t in feed["threads"])
    assert ranks == list(range(1, len(ranks) + 1))


def test_every_thread_keeps_the_limits(feed: dict[str, Any]) -> None:
    for t in feed["threads"]:
        assert _ID.match(t["id"]), t["id"]
        assert 1 <= len(t["title"]) <= 200
        assert 1 <= len(t["summary"]) <= 2000
        assert {"left", "right"} <= set(t["perspectives"]) <= {"left", "center", "right"}
        assert all(1 <= len(p) <= 2000 for p in t["perspectives"].values())
        assert 2 <= len(t["brief"]) <= 4 and all(1 <= len(p) <= 4000 for p in t["brief"])
        assert 6 <= len(t["qa"]) <= 10
        questions = [pair["q"].casefold() for pair in t["qa"]]
        assert len(set(questions)) == len(questions), t["id"]
        for pair in t["qa"]:
            assert 1 <= len(pair["q"]) <= 300 and 1 <= len(pair["a"]) <= 2000
        for group in (t["leaning"], t["regions"]):
            assert all(0 <= v <= 100 for v in group.values())
            assert abs(sum(group.values()) - 100) <= 1, t["id"]
        assert all(tag == tag.lower() and 1 <= len(tag) <= 50 for tag in t["tags"])
        assert 2 <= len(t["articles"]) <= 4
        for article in t["articles"]:
            assert article["url"].startswith("https://example.org/")
            assert _rfc3339(article["published_at"])
        assert _rfc3339(t["first_seen"])
        assert t["first_seen"].startswith("2025-")


def test_istanbul_thread_carries_the_seed_facts(feed: dict[str, Any]) -> None:
    (t,) = [t for t in feed["threads"] if t["id"] == "istanbul-talks-2025-06"]
    assert t["title"] == "Istanbul Talks"
    assert t["virality"] == 4.8 and t["article_count"] == 79
    assert t["leaning"] == {"left": 14.3, "center": 63.6, "right": 22.1}
    assert t["regions"] == {"US": 21.3, "Non-US": 78.7}
    assert len(t["qa"]) == 10
    assert t["qa"][8]["q"] == "What are the key demands from both sides?"


def test_feed_exercises_blindspot_and_escaping(feed: dict[str, Any]) -> None:
    assert any(min(t["leaning"].values()) < 5 for t in feed["threads"])
    text = json.dumps(feed, ensure_ascii=False)
    assert "&" in text and "<" in text
