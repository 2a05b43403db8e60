"""The answer-or-refuse judgement (domain.answering), without an encoder: evidence in, decision out."""

from __future__ import annotations

import numpy as np

from domain import answering
from domain.semantic import Closeness

QA = (
    ("What did the strike cost the airline?", "The airline says it lost about $300 million in revenue."),
    ("Why did the crews walk out?", "They say pay has not kept up with inflation and unpaid ground time."),
    ("What happens next?", "A mediator will meet both sides; flights are running normally again."),
)


def close(whole: list[float], part: list[float]) -> Closeness:
    zeros = np.zeros(len(whole), dtype=np.float32)
    return Closeness(np.array(whole, dtype=np.float32), np.array(part, dtype=np.float32), zeros, zeros)


def test_the_fitted_model_matches_its_features() -> None:
    model = answering.calibration()
    assert len(model.weights) == len(answering.FEATURES) + 1
    assert 0.0 < model.threshold < 1.0


def test_a_clear_favourite_is_answered_and_a_flat_field_is_not() -> None:
    clear = answering.decide("why did the crews walk out", QA, close([0.2, 0.8, 0.2], [0.2, 0.9, 0.2]))
    assert clear.answer and clear.best == 1
    flat = answering.decide("what about the pilots union", QA, close([0.3, 0.3, 0.3], [0.3, 0.3, 0.3]))
    assert not flat.answer
    assert sorted(flat.order) == [0, 1, 2]


def test_an_answer_without_the_fact_asked_for_is_never_shown() -> None:
    # Strong closeness to the third pair, but "when" cannot be answered by a text that names no time.
    decision = answering.decide(
        "when exactly do things happen next", QA, close([0.1, 0.1, 0.9], [0.1, 0.1, 0.9])
    )
    assert decision.best == 2 and not decision.answer


def test_no_pairs_no_answer() -> None:
    empty = Closeness(*(np.zeros(0, dtype=np.float32) for _ in range(4)))
    decision = answering.decide("anything", (), empty)
    assert decision.best is None and not decision.answer and decision.order == ()
