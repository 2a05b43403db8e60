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
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from domain.text import QUESTION_FILLER, STOPWORDS, fold

Encode = Callable[[Sequence[str]], np.ndarray]  # texts -> (n, dim) unit vectors

PAIR_WEIGHT = 1.0  # the whole pair: what it is about
PART_WEIGHT = 0.25  # its best single part: the stored question or one sentence of the answer

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def sentences(text: str) -> list[str]:
    """The sentences of an answer; a text without sentence ends is one sentence."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def content_words(text: str) -> list[str]:
    """The words that carry meaning: folded, without stopwords, chat filler or bare numbers."""
    return list(
        dict.fromkeys(
            w
            for w in fold(text).split()
            if w not in STOPWORDS and w not in QUESTION_FILLER and not w.isdigit()
        )
    )


class WordVectors:
    """Single words through the same encoder, cached: a thread's vocabulary is mostly words seen before."""

    def __init__(self, encode: Encode, *, max_words: int = 50_000) -> None:
        self._encode = encode
        # One float16 matrix and each word's row in it: a thread's ~150 words are one fancy index,
        # not 150 small arrays stacked on every question. Oldest words first, for eviction.
        self._row: OrderedDict[str, int] = OrderedDict()
        self._rows = np.zeros((0, 0), dtype=np.float16)
        self._max = max_words
        self._lock = threading.Lock()  # pair vectors are built in worker threads

    def __len__(self) -> int:
        return len(self._row)

    def matrix(self, words: Sequence[str]) -> np.ndarray:
        if not words:
            return np.zeros((0, 0), dtype=np.float32)
        while True:  # twice at most, unless another thread evicts a word in between
            with self._lock:
                missing = [w for w in dict.fromkeys(words) if w not in self._row]
                if not missing:
                    return self._rows[[self._row[w] for w in words]].astype(np.float32)
            encoded = self._encode(missing).astype(np.float16)
            with self._lock:
                for word, vector in zip(missing, encoded, strict=True):
                    if word not in self._row:
                        self._store(word, vector)

    def _store(self, word: str, vector: np.ndarray) -> None:
        if len(self._row) >= self._max:
            _, row = self._row.popitem(last=False)  # the oldest word gives up its row
        else:
            row = len(self._row)
            if row >= self._rows.shape[0]:
                grown = np.zeros((max(1024, 2 * self._rows.shape[0]), vector.shape[0]), dtype=np.float16)
                if row:
                    grown[:row] = self._rows
                self._rows = grown
        self._rows[row] = vector
        self._row[word] = row


@dataclass(frozen=True)
class PairVectors:
    questions: np.ndarray  # (pairs, dim)
    pairs: np.ndarray  # (pairs, dim): question and answer together
    parts: np.ndarray  # (sentences, dim): every sentence of every answer
    owner: np.ndarray  # (sentences,): the pair each sentence belongs to
    # The thread's content words (their vectors live in WordVectors, shared by all threads), and per
    # pair the positions in it of its question's and its answer's words: for word coverage.
    vocabulary: tuple[str, ...] = ()
    question_words: tuple[np.ndarray, ...] = ()
    answer_words: tuple[np.ndarray, ...] = ()


def embed_pairs(
    encode: Encode, qa: Sequence[tuple[str, str]], words: WordVectors | None = None
) -> PairVectors:
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
        **_word_positions(qa, words),
    )


def _word_positions(qa: Sequence[tuple[str, str]], words: WordVectors | None) -> dict[str, Any]:
    if words is None:
        return {}
    per_question = [content_words(q) for q, _ in qa]
    per_answer = [content_words(a) for _, a in qa]
    vocabulary = tuple(dict.fromkeys(w for ws in per_question + per_answer for w in ws))
    words.matrix(vocabulary)  # encode new words now, in the worker thread, not on the first question
    position = {w: i for i, w in enumerate(vocabulary)}

    def index(ws: list[str]) -> np.ndarray:
        return np.array([position[w] for w in ws], dtype=np.intp)

    return {
        "vocabulary": vocabulary,
        "question_words": tuple(index(ws) for ws in per_question),
        "answer_words": tuple(index(ws) for ws in per_answer),
    }


@dataclass(frozen=True)
class Closeness:
    """How close a question is to each pair, seen several ways (arrays of one value per pair)."""

    whole: np.ndarray  # to the question and answer together
    best_part: np.ndarray  # to the stored question or the closest sentence of the answer
    question_words: np.ndarray  # mean over the user's content words of the closest word of the question
    answer_words: np.ndarray  # ... of the closest word of the answer

    @property
    def score(self) -> np.ndarray:
        return PAIR_WEIGHT * self.whole + PART_WEIGHT * self.best_part


def closeness(
    question: np.ndarray,
    vectors: PairVectors,
    user_words: np.ndarray | None = None,
    words: WordVectors | None = None,
) -> Closeness:
    """`user_words`: vectors of the question's content words; `words`: where the thread's are kept."""
    n = vectors.pairs.shape[0]
    if n == 0:
        empty = np.zeros(0, dtype=np.float32)
        return Closeness(empty, empty, empty, empty)
    whole = vectors.pairs @ question
    best_part = vectors.questions @ question
    if vectors.parts.shape[0]:
        per_sentence = vectors.parts @ question
        best_sentence = np.full(n, -1.0, dtype=np.float32)
        np.maximum.at(best_sentence, vectors.owner, per_sentence)
        best_part = np.maximum(best_part, best_sentence)
    return Closeness(
        whole,
        best_part,
        *_coverage(user_words, vectors, words, n),
    )


def _coverage(
    user: np.ndarray | None, vectors: PairVectors, words: WordVectors | None, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: mean over the user's words of the closest word of its question, and of its answer."""
    question = np.zeros(n, dtype=np.float32)
    answer = np.zeros(n, dtype=np.float32)
    if user is None or not user.shape[0] or words is None or not vectors.vocabulary:
        return question, answer
    closest = user @ words.matrix(vectors.vocabulary).T  # (user words, thread words)
    for i in range(n):
        for out, positions in ((question, vectors.question_words[i]), (answer, vectors.answer_words[i])):
            if positions.shape[0]:
                out[i] = float(closest[:, positions].max(axis=1).mean())
    return question, answer
