"""A stored answer that lacks the kind of fact asked for (money, a number, a time) is not shown as the answer."""

from __future__ import annotations

import pytest

from domain import answer_type
from domain.matching import best_answer

QA = (
    ("What did the strike cost the airline?", "The airline says it lost about $300 million in revenue."),
    ("Why did the crews walk out?", "They say pay has not kept up with inflation and unpaid ground time."),
    ("What happens next?", "A mediator will meet both sides; flights are running normally again."),
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("how much did the strike cost them", answer_type.MONEY),
        ("how many flights were cancelled", answer_type.NUMBER),
        ("when does the mediator meet them", answer_type.TIME),
        ("how long did it last", answer_type.DURATION),
        ("why did they strike", None),
        ("what happens now", None),
    ],
)
def test_the_kind_of_fact_a_question_wants(question: str, kind: str | None) -> None:
    assert answer_type.wanted(question) == kind


def test_answers_are_read_for_those_facts() -> None:
    assert answer_type.present(answer_type.MONEY, "It cost €2.4bn.")
    assert answer_type.present(answer_type.MONEY, "a bill of 3 billion")
    assert not answer_type.present(answer_type.MONEY, "Costs are unclear.")
    assert answer_type.present(answer_type.NUMBER, "his fourth Grand Slam")
    assert not answer_type.present(answer_type.NUMBER, "It was a big one.")
    assert answer_type.present(answer_type.TIME, "Talks resume next week.")
    assert not answer_type.present(answer_type.TIME, "Both sides want a deal.")
    assert answer_type.present(None, "anything at all")


def test_a_question_for_an_amount_gets_the_answer_that_has_one() -> None:
    match = best_answer("how much did the strike cost the airline", QA, title="Airline strike")
    assert match is not None and match.index == 0


def test_an_answer_without_the_fact_asked_for_is_refused() -> None:
    # The third pair is about what happens next, but names no time: it cannot say *when*.
    assert best_answer("what happens next", QA, title="Airline strike") is not None
    assert best_answer("when exactly does what happens next happen", QA, title="Airline strike") is None
