"""Sentence-vector similarity between a reader's question and each stored Q&A pair.

The lexical matcher only knows the words a thread and its related-term table contain; a new story brings
new ones ("is the army helping out" against "5,000 troops were sent"). A sentence encoder places both
in one vector space, so a question can land near the pair that answers it with no word in common.

Each pair is seen three ways: the stored question, the whole pair (question and answer), and each
sentence of the answer, because a follow-up often asks about one fact inside a longer answer. The
encoder is passed in (texts -> unit vectors), so this module stays plain numpy and testable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Encode = Callable[[Sequence[str]], np.ndarray]  # texts -> (n, dim) unit vectors

PAIR_WEIGHT = 1.0  # the whole pair: what it is about
PART_WEIGHT = 0.25  # its best single part: the stored question or one sentence of the answer

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def sentences(text: str) -> list[str]:
    """The sentences of an answer; a text without sentence ends is one sentence."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


@dataclass(frozen=True)
class PairVectors:
    questions: np.ndarray  # (pairs, dim)
    pairs: np.ndarray  # (pairs, dim): question and answer together
    parts: np.ndarray  # (sentences, dim): every sentence of every answer
    owner: np.ndarray  # (sentences,): the pair each sentence belongs to


def embed_pairs(encode: Encode, qa: Sequence[tuple[str, str]]) -> PairVectors:
    if not qa:
        empty = np.zeros((0, 0), dtype=np.float32)
        return PairVectors(empty, empty, empty, np.zeros(0, dtype=np.intp))
    questions = [q for q, _ in qa]
    combined = [f"{q} {a}" for q, a in qa]
    parts: list[str] = []
    owner: list[int] = []
    for i, (_, answer) in enumerate(qa):
        for sentence in sentences(answer) or [answer]:
            parts.append(sentence)
            owner.append(i)
    vectors = encode([*questions, *combined, *parts])
    n = len(qa)
    return PairVectors(
        questions=vectors[:n],
        pairs=vectors[n : 2 * n],
        parts=vectors[2 * n :],
        owner=np.asarray(owner, dtype=np.intp),
    )


def similarity(question: np.ndarray, vectors: PairVectors) -> np.ndarray:
    """Per pair: how close the question is to the pair, plus a share of its closest single part."""
    n = vectors.pairs.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    whole = vectors.pairs @ question
    best_part = vectors.questions @ question
    if vectors.parts.shape[0]:
        per_sentence = vectors.parts @ question
        best_sentence = np.full(n, -1.0, dtype=np.float32)
        np.maximum.at(best_sentence, vectors.owner, per_sentence)
        best_part = np.maximum(best_part, best_sentence)
    return PAIR_WEIGHT * whole + PART_WEIGHT * best_part
