"""Digest selection and rendering as plain functions: hostile text, limits, settings."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from domain import render
from domain.digest import TopThread, breaking_candidates, norm_tags, remember, select_threads, wants_breaking
from tests.fake_telegram_parse import parse_html, u16len


def top(n: int, **kw: object) -> list[TopThread]:
    return [
        TopThread(
            key=i,
            rank=i,
            previous_rank=kw.get("previous", i + 2),  # type: ignore[arg-type]
            title=str(kw.get("title", f"Story {i}")),
            summary=str(kw.get("summary", f"What happened in {i}.")),
            tags=norm_tags([f"tag{i % 3}"]),
        )
        for i in range(1, n + 1)
    ]


def test_hostile_text_is_escaped_and_ten_long_lines_fit_one_message() -> None:
    threads = top(10, title="<script>alert('x')</script> & <b>" + "T" * 300, summary="<i>&amp; " * 400)
    reply = render.digest("Mon 5 Jan", threads)
    text, _ = parse_html(reply.html)  # the strict parser Telegram's rules are checked with
    assert "<script>" in text and u16len(text) <= render.MAX_TEXT
    assert all(len((b.data or "").encode()) <= 64 for row in reply.buttons for b in row)
    assert len(reply.buttons) == 10 and reply.buttons[0][0].data == "c:1"
    assert "▲2" in reply.html


def test_quiet_day_and_breaking_header() -> None:
    assert "quiet day" in render.quiet_day("Mon 5 Jan").html
    assert "now #2" in render.breaking_header(2)


def test_selection_sizes_follow_mute_and_memory() -> None:
    threads = top(12)
    assert [t.key for t in select_threads(threads, size=1)] == [1, 2, 3], "at least 3"
    assert len(select_threads(threads, size=99)) == 10, "at most 10"
    chosen = select_threads(threads, size=3, follow=["TAG2"], mute=["tag0"])
    assert [t.key for t in chosen] == [2, 5, 8]
    memory = remember([], chosen)
    again = select_threads(threads, size=3, follow=["tag2"], mute=["tag0"], recent=memory)
    assert [t.key for t in again] == [11, 1, 4]
    assert len(remember(remember(remember(memory, again), again), again)) == 3, "the last 3 digests"


def test_breaking_candidates_and_topics() -> None:
    entering = TopThread(1, 2, 7, "a", "s", frozenset({"war"}), 3.0, 2.5)
    staying = TopThread(2, 1, 1, "b", "s", frozenset(), 9.0, 6.5)
    low = TopThread(3, 9, 9, "c", "s", frozenset(), 1.0, 0.5)
    assert breaking_candidates([entering, staying, low], virality_jump=2.0) == [entering, staying]
    assert breaking_candidates([entering, staying, low], virality_jump=0) == [entering]
    assert not wants_breaking(entering.tags, follow=[], mute=["War"])
    assert wants_breaking(entering.tags, follow=["war"], mute=[])
    assert not wants_breaking(staying.tags, follow=["war"], mute=[])


def test_digest_settings_are_read_and_checked() -> None:
    settings = load_settings({"DIGEST_TICK_SECONDS": "1", "DIGEST_GRACE_HOURS": "2"}, dotenv=None)
    assert settings.digest_tick_seconds == 1 and settings.digest_grace_hours == 2
    assert load_settings({}, dotenv=None).digest_tick_seconds == 60
    with pytest.raises(ConfigError, match="DIGEST_TICK_SECONDS"):
        load_settings({"DIGEST_TICK_SECONDS": "soon"}, dotenv=None)
