"""Feed validation: every rule of the format, and what a user of `storybot import` is told."""

from __future__ import annotations

import json
import re

import pytest

from storage.feed import FeedError, parse_feed
from tests.feeds import feed, thread


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"<html>not json</html>", "not a JSON document"),
        (b"[1, 2]", "JSON object"),
        (
            json.dumps({"version": 2, "generated_at": "2025-06-05T12:00:00Z", "threads": []}).encode(),
            "version",
        ),
        (
            json.dumps({"version": True, "generated_at": "2025-06-05T12:00:00Z", "threads": []}).encode(),
            "version",
        ),
        (
            json.dumps({"version": 1, "generated_at": "2025-06-05T12:00:00Z"}).encode(),
            "'threads' must be a list",
        ),
        (json.dumps({"version": 1, "generated_at": "yesterday", "threads": []}).encode(), "generated_at"),
        (json.dumps({"version": 1, "generated_at": "2025-06-05T12:00:00", "threads": []}).encode(), "offset"),
    ],
)
def test_a_document_that_is_not_a_feed_is_refused_with_the_reason(document: bytes, reason: str) -> None:
    with pytest.raises(FeedError, match=reason):
        parse_feed(document)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (thread("has space"), "id must be"),
        (thread("x" * 129), "id must be"),
        (thread("t", title=""), "title"),
        (thread("t", title="x" * 201), "title"),
        (thread("t", summary="x" * 2001), "summary"),
        ({"id": "t", "title": "T"}, "summary"),
        (thread("t", rank=0), "rank"),
        (thread("t", rank=1.5), "rank"),
        (thread("t", rank=True), "rank"),
        (thread("t", virality=-1), "virality"),
        (thread("t", virality="high"), "virality"),
        (thread("t", article_count=-3), "article_count"),
        (thread("t", first_seen="June 2nd"), "first_seen"),
        (thread("t", perspectives={"far-left": "x"}), "perspectives"),
        (thread("t", perspectives={"left": ""}), "perspectives.left"),
        (thread("t", brief=["ok", ""]), r"brief\[1\]"),
        (thread("t", brief="one paragraph"), "brief must be a list"),
        (thread("t", ai_generated="yes"), "ai_generated"),
        (thread("t", qa=[{"q": "Why?"}]), r"qa\[0\]\.a"),
        (thread("t", qa=[{"q": "x" * 301, "a": "y"}]), r"qa\[0\]\.q"),
        (thread("t", leaning={"left": 120, "right": 0}), "at most 100"),
        (thread("t", leaning={"up": 50, "down": 50}), "unknown key"),
        (thread("t", regions={"US": -5, "Non-US": 105}), "regions"),
        (thread("t", tags=["ok", ""]), r"tags\[1\]"),
        (thread("t", articles=[{"title": "A", "url": "ftp://x"}]), "url"),
        (thread("t", articles=[{"title": "A", "url": "javascript:alert(1)"}]), "url"),
        (thread("t", articles=[{"url": "https://example.org"}]), "title"),
        ("just a string", "thread must be an object"),
    ],
)
def test_a_bad_thread_is_skipped_with_its_id_and_reason_and_the_rest_land(bad: object, reason: str) -> None:
    parsed = parse_feed(feed(thread("good-1"), bad, thread("good-2")))  # type: ignore[arg-type]
    assert [t.slug for t in parsed.threads] == ["good-1", "good-2"]
    assert len(parsed.skipped) == 1
    assert parsed.skipped[0].reason
    assert re.search(reason, parsed.skipped[0].reason), parsed.skipped[0].reason


def test_the_skipped_thread_is_named_by_its_id() -> None:
    parsed = parse_feed(feed(thread("broken-one", title="")))
    assert parsed.skipped[0].thread_id == "broken-one"


def test_shares_that_do_not_add_up_are_kept_but_flagged() -> None:
    parsed = parse_feed(
        feed(
            thread("a", leaning={"left": 10, "center": 10, "right": 10}, regions={"US": 50, "Non-US": 50.5}),
            thread("b", leaning={"left": 14.3, "center": 63.6, "right": 22.1}),
        )
    )
    a, b = parsed.threads
    assert a.leaning == {"left": 10, "center": 10, "right": 10}
    assert a.flags == ["leaning does not add up to 100"]
    assert b.flags == []


def test_unknown_fields_are_ignored_and_null_means_absent() -> None:
    parsed = parse_feed(feed(thread("a", mood="calm", rank=None, brief=None), upstream="v9"))
    assert parsed.threads[0].rank == 1  # given by virality order since it has none
    assert parsed.threads[0].brief == []


def test_text_is_kept_exactly_as_written() -> None:
    summary = "S&P 500 < 5,000 <b>not bold</b> &amp; done 🙂 مرحبا"
    parsed = parse_feed(feed(thread("a", summary=summary, tags=["Markets", "markets", "AI"])))
    assert parsed.threads[0].summary == summary
    assert parsed.threads[0].tags == ["markets", "ai"]


def test_threads_without_rank_are_ordered_by_virality_after_ranked_ones() -> None:
    parsed = parse_feed(
        feed(
            thread("low", virality=1.0),
            thread("ranked", rank=1),
            thread("high", virality=9.5),
            thread("none"),
        )
    )
    ranks = {t.slug: t.rank for t in parsed.threads}
    assert ranks == {"ranked": 1, "high": 2, "low": 3, "none": 4}


def test_duplicate_ids_keep_the_first() -> None:
    parsed = parse_feed(feed(thread("a", title="First"), thread("a", title="Second")))
    assert [t.title for t in parsed.threads] == ["First"]
    assert parsed.skipped[0].thread_id == "a" and "duplicate" in parsed.skipped[0].reason


def test_the_bundled_sample_feed_is_valid(sample_feed_bytes: bytes) -> None:
    parsed = parse_feed(sample_feed_bytes)
    assert parsed.skipped == []
    assert len(parsed.threads) >= 12
    assert all(t.qa for t in parsed.threads)
    assert any(t.slug == "istanbul-talks-2025-06" for t in parsed.threads)
