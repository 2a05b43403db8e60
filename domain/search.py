"""Story search: an in-memory inverted index over titles, tags, summaries and briefs.

Case-, accent- and typo-tolerant: words are folded and stemmed, and a query word the index has never
seen is matched to indexed words one edit away (a deletion dictionary, as in SymSpell), so "Istambul"
finds "Istanbul" without scanning the vocabulary.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from domain.text import STOPWORDS, fold, stem

FIELD_WEIGHTS = {"title": 5.0, "tags": 3.0, "summary": 1.5, "brief": 0.6}
_K1 = 1.2
_FUZZY_PENALTY = 0.75
# One edit turns many short words into other real words ("apple" -> "apply"); long words rarely.
_FUZZY_MIN_LENGTH = 6
# Candidates come from each term's strongest postings only: a word found in thousands of briefs
# must not cost a pass over all of them. Title and tag matches weigh most, so they are always in.
_TOP_POSTINGS = 300


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
        self._top: dict[str, tuple[int, ...]] = {
            term: tuple(
                key
                for key, _ in (
                    heapq.nlargest(_TOP_POSTINGS, p.items(), key=lambda kv: kv[1])
                    if len(p) > _TOP_POSTINGS
                    else p.items()
                )
            )
            for term, p in self._postings.items()
        }
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
        if len(word) < _FUZZY_MIN_LENGTH:
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

        expanded: list[tuple[float, list[tuple[str, float]]]] = []
        candidates: set[int] = set()
        total_weight = 0.0
        for word in words:
            expansions = self._expand(word)
            # Words the index has never seen still count against coverage: "istanbul football" is
            # not a good match for a story about the Istanbul talks.
            word_weight = max((self._idf.get(t, 0.0) for t, _ in expansions), default=2.0) or 2.0
            total_weight += word_weight
            expanded.append((word_weight, expansions))
            for term, _factor in expansions:
                candidates.update(self._top[term])

        scores: dict[int, float] = {}
        matched_weight: dict[int, float] = {}
        title_weight: dict[int, float] = {}
        for key in candidates:
            score = matched = in_title = 0.0
            title_terms = self._title_terms.get(key, frozenset())
            for word_weight, expansions in expanded:
                best_value, best_factor, best_term = 0.0, 0.0, ""
                for term, factor in expansions:
                    value = self._postings[term].get(key, 0.0) * factor
                    if value > best_value:
                        best_value, best_factor, best_term = value, factor, term
                if best_value:
                    score += best_value
                    matched += word_weight * best_factor
                    if best_term in title_terms:
                        in_title += word_weight * best_factor
            if score:
                scores[key], matched_weight[key], title_weight[key] = score, matched, in_title
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
