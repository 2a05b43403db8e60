"""Story search: an in-memory inverted index over titles, tags, summaries and briefs.

Case-, accent- and typo-tolerant: words are folded and stemmed, and a query word the index has never
seen is matched to indexed words one edit away (a deletion dictionary, as in SymSpell), so "Istambul"
finds "Istanbul" without scanning the vocabulary.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from domain.text import STOPWORDS, fold, stem

FIELD_WEIGHTS = {"title": 5.0, "tags": 3.0, "summary": 1.5, "brief": 0.6}
_K1 = 1.2
_FUZZY_PENALTY = 0.75


@dataclass(frozen=True)
class SearchDoc:
    key: int
    slug: str
    title: str
    tags: tuple[str, ...]
    summary: str
    brief: str
    rank: int | None = None


@dataclass(frozen=True)
class Hit:
    key: int
    score: float
    coverage: float  # share of the query's weight this thread matched, 0..1
    title_coverage: float


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    # True when the best hit clearly stands out: open its card instead of offering a choice.
    decisive: bool


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class SearchIndex:
    def __init__(self, docs: Iterable[SearchDoc]) -> None:
        self._postings: dict[str, dict[int, float]] = defaultdict(dict)
        self._title_terms: dict[int, frozenset[str]] = {}
        self._slugs: dict[str, int] = {}
        self._rank: dict[int, int] = {}
        self._surface: dict[str, set[str]] = defaultdict(set)  # folded word -> stems
        raw: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        count = 0
        for doc in docs:
            count += 1
            self._slugs[doc.slug.lower()] = doc.key
            if doc.rank is not None:
                self._rank[doc.key] = doc.rank
            fields = {
                "title": doc.title,
                "tags": " ".join(doc.tags),
                "summary": doc.summary,
                "brief": doc.brief,
            }
            title_terms: set[str] = set()
            for name, text in fields.items():
                weight = FIELD_WEIGHTS[name]
                for word in fold(text).split():
                    if word in STOPWORDS:
                        continue
                    term = stem(word)
                    self._surface[word].add(term)
                    raw[term][doc.key] += weight
                    if name == "title":
                        title_terms.add(term)
            self._title_terms[doc.key] = frozenset(title_terms)
        self.size = count
        for term, per_doc in raw.items():
            idf = math.log(1 + (count - len(per_doc) + 0.5) / (len(per_doc) + 0.5))
            self._postings[term] = {key: idf * w * (_K1 + 1) / (w + _K1) for key, w in per_doc.items()}
        self._idf = {term: math.log(1 + (count - len(p) + 0.5) / (len(p) + 0.5)) for term, p in raw.items()}
        self._delete_index: dict[str, set[str]] = defaultdict(set)
        for word in self._surface:
            if len(word) >= 4:
                for variant in _deletes(word):
                    self._delete_index[variant].add(word)

    def _expand(self, word: str) -> list[tuple[str, float]]:
        """Index terms for one query word, with a weight (1 exact, less for a typo match)."""
        term = stem(word)
        if term in self._postings:
            return [(term, 1.0)]
        if len(word) < 4:
            return []
        near: set[str] = set(self._delete_index.get(word, ()))
        for variant in _deletes(word):
            if variant in self._surface:
                near.add(variant)
            near |= self._delete_index.get(variant, set())
        return [(t, _FUZZY_PENALTY) for w in near for t in self._surface[w]]

    def search(self, query: str, limit: int = 8) -> SearchResult:
        words = [w for w in fold(query).split() if w not in STOPWORDS]
        if not words:
            return SearchResult([], False)
        exact = self._slugs.get(query.strip().lower())
        if exact is not None:
            return SearchResult([Hit(exact, 1.0, 1.0, 1.0)], True)

        scores: dict[int, float] = defaultdict(float)
        matched_weight: dict[int, float] = defaultdict(float)
        title_weight: dict[int, float] = defaultdict(float)
        total_weight = 0.0
        for word in words:
            expansions = self._expand(word)
            # Words the index has never seen still count against coverage: "istanbul football" is
            # not a good match for a story about the Istanbul talks.
            word_weight = max((self._idf.get(t, 0.0) for t, _ in expansions), default=2.0) or 2.0
            total_weight += word_weight
            best_per_doc: dict[int, tuple[float, float, bool]] = {}
            for term, factor in expansions:
                for key, value in self._postings[term].items():
                    in_title = term in self._title_terms.get(key, ())
                    candidate = (value * factor, factor, in_title)
                    if key not in best_per_doc or candidate[0] > best_per_doc[key][0]:
                        best_per_doc[key] = candidate
            for key, (value, factor, in_title) in best_per_doc.items():
                scores[key] += value
                matched_weight[key] += word_weight * factor
                if in_title:
                    title_weight[key] += word_weight * factor
        if not scores:
            return SearchResult([], False)

        hits = [
            Hit(
                key,
                score * (0.5 + 0.5 * matched_weight[key] / total_weight),
                matched_weight[key] / total_weight,
                title_weight[key] / total_weight,
            )
            for key, score in scores.items()
        ]
        hits = [h for h in hits if h.coverage >= 0.5]
        hits.sort(key=lambda h: (-h.score, self._rank.get(h.key, 1 << 30)))
        hits = hits[:limit]
        if not hits:
            return SearchResult([], False)
        best = hits[0]
        runner_up = hits[1] if len(hits) > 1 else None
        decisive = runner_up is None or (
            best.score >= 1.6 * runner_up.score or (best.title_coverage >= 0.99 > runner_up.title_coverage)
        )
        # Only near-equals are worth offering as a choice.
        good = [h for h in hits if h.score >= 0.45 * best.score]
        return SearchResult(good, decisive)
