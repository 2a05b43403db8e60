"""Answer matching (first cut; replaced by the measured matcher)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.text import terms


@dataclass(frozen=True)
class Match:
    index: int
    score: float


def best_answer(
    question: str, qa: Sequence[tuple[str, str]], *, title: str = "", tags: Sequence[str] = ()
) -> Match | None:
    asked = set(terms(question))
    if not asked or not qa:
        return None
    best: Match | None = None
    for i, (q, _a) in enumerate(qa):
        stored = set(terms(q))
        score = len(asked & stored) / max(1, len(asked | stored))
        if best is None or score > best.score:
            best = Match(i, score)
    return best if best and best.score >= 0.3 else None
