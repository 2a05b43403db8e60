"""User-visible behaviour of follow-up answer matching, on the shipped sample feed."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from domain.matching import Match, best_answer

FEED = Path(__file__).resolve().parents[1] / "storage" / "data" / "sample_feed.json"


def _thread(thread_id: str) -> dict[str, Any]:
    feed = json.loads(FEED.read_text(encoding="utf-8"))
    (thread,) = [t for t in feed["threads"] if t["id"] == thread_id]
    return thread


def ask(thread_id: str, question: str) -> Match | None:
    thread = _thread(thread_id)
    qa = [(pair["q"], pair["a"]) for pair in thread["qa"]]
    return best_answer(question, qa, title=thread["title"], tags=thread["tags"])


def stored_question(thread_id: str, match: Match | None) -> str | None:
    return None if match is None else _thread(thread_id)["qa"][match.index]["q"]


ISTANBUL = "istanbul-talks-2025-06"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what does russia want", "What are the key demands from both sides?"),
        ("why do prisoner exchanges matter", "What are the implications of prisoner swaps?"),
        ("whos mediating", "What role do external nations play in negotiations?"),
        ("wat r the main points", "What are the main points of the peace talks?"),
        ("did the drone attack ruin negotiations", "What impact do drone attacks have on negotiations?"),
    ],
)
def test_paraphrases_find_the_stored_answer(question: str, expected: str) -> None:
    assert stored_question(ISTANBUL, ask(ISTANBUL, question)) == expected


@pytest.mark.parametrize(
    "question",
    ["who won the super bowl", "whats the weather in kyiv", "is this affecting bitcoin", "ok thanks", "asdf"],
)
def test_off_topic_questions_are_refused(question: str) -> None:
    assert ask(ISTANBUL, question) is None


def test_typos_are_tolerated() -> None:
    assert stored_question(ISTANBUL, ask(ISTANBUL, "why do prisner exchanges mater")) == (
        "What are the implications of prisoner swaps?"
    )
    assert stored_question(
        "measles-outbreak-2025", ask("measles-outbreak-2025", "how efective is the vacine")
    ) == ("How effective is the MMR vaccine?")


def test_other_threads_answer_in_their_own_terms() -> None:
    assert (
        stored_question("nba-finals-2025", ask("nba-finals-2025", "who was mvp"))
        == "Who was named Finals MVP?"
    )
    assert ask("nba-finals-2025", "who won the super bowl") is None


@pytest.mark.parametrize(
    "question",
    [
        "",
        "   ",
        "?!",
        "🙂🙂🙂",
        "ما هي مطالب روسيا؟",
        "מה רוסיה רוצה",
        "russia " * 1000,
        "x" * 5000,
        "\u200f\u202e abc",
    ],
)
def test_odd_input_never_crashes_and_stays_in_range(question: str) -> None:
    thread = _thread(ISTANBUL)
    qa = [(pair["q"], pair["a"]) for pair in thread["qa"]]
    got = best_answer(question, qa, title=thread["title"], tags=thread["tags"])
    assert got is None or (0 <= got.index < len(qa) and 0.0 <= got.score <= 1.0)


def test_empty_and_meaningless_input_is_refused() -> None:
    for question in ("", "   ", "🙂", "?"):
        assert ask(ISTANBUL, question) is None


def test_empty_qa_list_returns_none() -> None:
    assert best_answer("what does russia want", []) is None


def test_single_pair_and_degenerate_pairs() -> None:
    qa = [("What does Russia want?", "Territory.")]
    got_single = best_answer("what does russia want", qa)
    assert got_single is not None and got_single.index == 0 and got_single.score >= 0.8
    odd = [("?", "!"), ("", ""), ("🙂", "🙂")]
    got = best_answer("what does russia want", odd)
    assert got is None or 0 <= got.index < len(odd)


def test_score_is_a_confidence_between_zero_and_one() -> None:
    match = ask(ISTANBUL, "what are the key demands from both sides")
    assert match is not None and match.index == 8 and 0.9 <= match.score <= 1.0


def test_fast_enough_for_a_chat_reply() -> None:
    thread = _thread(ISTANBUL)
    qa = [(pair["q"], pair["a"]) for pair in thread["qa"]]
    best_answer("warm up", qa, title=thread["title"], tags=thread["tags"])
    samples = []
    for question in ["what does russia want", "whos mediating", "who won the super bowl", "x" * 5000] * 25:
        start = time.perf_counter()
        best_answer(question, qa, title=thread["title"], tags=thread["tags"])
        samples.append(time.perf_counter() - start)
    samples.sort()
    assert samples[int(len(samples) * 0.95)] < 0.005


def test_closest_names_a_near_question_but_not_an_unrelated_one() -> None:
    from domain.matching import closest

    qa = [("What are the key demands from both sides?", "Russia wants land; Ukraine wants sovereignty.")]
    assert closest("what are the demands", qa, title="Istanbul Talks") == 0
    assert closest("who won the super bowl", qa, title="Istanbul Talks") is None
