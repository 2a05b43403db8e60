"""Answer or refuse: the best stored pair by score, then a calibrated judgement of whether it answers.

The blended score (domain.matching words + domain.semantic meaning) ranks the pairs well: on stories
it never saw, the right pair comes first for about four questions in five. Whether to *show* it is a
separate question, and one score with a threshold answers it badly: a question about a detail the
brief does not hold ("how many died in the 2003 quake") scores as high as a paraphrase. So the
decision weighs several pieces of evidence about the best pair with a logistic model: its scores and
lead, how much of the question's wording its question and answer cover (literally and word by word in
vector space), how much of the question is foreign to the whole thread, and whether its answer holds
the kind of fact asked for. The weights are fitted by bench/fit_calibration.py on the labelled question
sets and stored in domain/data/calibration.json; this module only reads them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from domain import answer_type, matching
from domain.semantic import Closeness
from domain.text import terms

CALIBRATION = Path(__file__).resolve().parent / "data" / "calibration.json"
LEXICAL_SHARE = 0.5  # blended score = LEXICAL_SHARE * word score + sentence-vector score (ranks best)
# After a refusal, "did you mean" the best pair when its blended score reaches this: on blind9..12, as
# many right suggestions as any lower bar, with ~30 % fewer offered for unanswerable ones.
SUGGEST = 0.55

FEATURES = (
    "score",  # blended score of the best pair
    "lead",  # its lead over the runner-up
    "lexical",  # its word score alone
    "whole",  # closeness of the question to the whole pair
    "part",  # ... to its stored question or closest answer sentence
    "fits",  # its answer holds the kind of fact asked for (1/0)
    "question_overlap",  # share of the user's terms found in the stored question
    "answer_overlap",  # ... in the stored answer
    "foreign",  # share of the user's terms found nowhere in the thread
    "typed",  # the question asks for an amount, number, time or duration (1/0)
    "length",  # number of terms, capped at 6, over 6
    "question_words",  # word-vector coverage of the user's words by the stored question
    "answer_words",  # ... by the stored answer
    "answer_words_lead",  # ... and its lead over the best other answer
)


@dataclass(frozen=True)
class Calibration:
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]  # one per feature, then the intercept
    threshold: float  # answer when the probability is at least this


@lru_cache(maxsize=1)
def calibration() -> Calibration:
    data = json.loads(CALIBRATION.read_text(encoding="utf-8"))
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{CALIBRATION} was fitted for other features; run bench/fit_calibration.py")
    return Calibration(tuple(data["mean"]), tuple(data["scale"]), tuple(data["weights"]), data["threshold"])


@dataclass(frozen=True)
class Decision:
    best: int | None  # the pair with the highest blended score (None without pairs)
    answer: bool  # show it as the answer
    probability: float
    order: tuple[int, ...]  # every pair, likeliest first
    nearest: int | None  # when refused: the best pair, if it came close enough to ask "did you mean"


def blend(lexical: Sequence[float], close: Closeness) -> list[float]:
    return [LEXICAL_SHARE * lex + float(s) for lex, s in zip(lexical, close.score, strict=True)]


@lru_cache(maxsize=1024)
def _thread_terms(
    qa: tuple[tuple[str, str], ...], title: str
) -> tuple[frozenset[str], tuple[tuple[frozenset[str], frozenset[str]], ...]]:
    """The terms of the whole thread, and of each pair's question and answer: once per thread."""
    pairs = tuple((frozenset(terms(q)), frozenset(terms(a))) for q, a in qa)
    thread = frozenset(terms(title)).union(*(q | a for q, a in pairs))
    return thread, pairs


def evidence(
    question: str,
    qa: Sequence[tuple[str, str]],
    lexical: Sequence[float],
    close: Closeness,
    *,
    title: str = "",
) -> tuple[tuple[int, ...], list[float]] | None:
    """Every pair, likeliest first by blended score, and the evidence about the first, in FEATURES order."""
    if not qa:
        return None
    scores = blend(lexical, close)
    order = tuple(sorted(range(len(scores)), key=lambda i: -scores[i]))
    best = order[0]
    runner_up = scores[order[1]] if len(order) > 1 else 0.0
    user = set(terms(question))
    size = max(len(user), 1)
    thread, pairs = _thread_terms(tuple(qa), title)
    q_terms, a_terms = pairs[best]
    kind = answer_type.wanted(question)
    answer_words = close.answer_words
    others = np.delete(answer_words, best) if len(answer_words) > 1 else np.zeros(1, dtype=np.float32)
    return order, [
        scores[best],
        scores[best] - runner_up,
        float(lexical[best]),
        float(close.whole[best]),
        float(close.best_part[best]),
        float(answer_type.present(kind, qa[best][1])),
        len(user & q_terms) / size,
        len(user & a_terms) / size,
        len(user - thread) / size,
        float(kind is not None),
        min(len(user), 6) / 6,
        float(close.question_words[best]),
        float(answer_words[best]),
        float(answer_words[best] - others.max()),
    ]


def probability(features: Sequence[float], model: Calibration | None = None) -> float:
    model = model or calibration()
    z = model.weights[-1]
    for x, mean, scale, weight in zip(features, model.mean, model.scale, model.weights, strict=False):
        z += weight * (x - mean) / scale
    return 1.0 / (1.0 + math.exp(-z))


def decide(
    question: str,
    qa: Sequence[tuple[str, str]],
    close: Closeness,
    *,
    title: str = "",
    tags: Sequence[str] = (),
    model: Calibration | None = None,
) -> Decision:
    lexical = matching.rank(question, qa, title=title, tags=tags)
    found = evidence(question, qa, lexical, close, title=title)
    if found is None:
        return Decision(None, False, 0.0, (), None)
    order, features = found
    best = order[0]
    model = model or calibration()
    p = probability(features, model)
    # A stored answer without the kind of fact asked for is never the answer, whatever the model says.
    fits = features[FEATURES.index("fits")] > 0
    answer = fits and p >= model.threshold
    near = not answer and features[FEATURES.index("score")] >= SUGGEST
    return Decision(best, answer, p, order, best if near else None)
