"""Pick the stored Q&A pair that answers a reader's follow-up question, or refuse.

Readers phrase follow-ups in their own words ("whos mediating", "what does russia want"), with typos and
few words in common with the stored question. The matcher is lexical, chosen by measurement
(bench/answer_quality.py): per thread, each pair is indexed by the stemmed terms of its question and, with a
lower weight, of its answer. A user term scores against a pair when it appears there literally, through a
related-term group (domain.text.RELATED_TERMS), or after typo correction against the thread's vocabulary.

The score is the share of the *user's* informative words that the pair explains, each word weighted by
how rare it is among the thread's pairs. A word that appears nowhere in the thread ("bitcoin", "weather")
weighs most, so off-topic questions fall below the refusal threshold instead of matching whatever pair
shares the topic word. Words of the thread's title and tags explain the topic, not the question, so they
weigh little.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from domain import answer_type
from domain.text import QUESTION_FILLER, STOPWORDS, fold, related_groups, related_vocabulary, stem


@dataclass(frozen=True)
class Match:
    index: int  # index into the qa list
    score: float  # 0..1 confidence


@dataclass(frozen=True)
class Tuning:
    """Knobs of the matcher; the defaults are what the benchmark chose. Other values exist for ablations."""

    use_answers: bool = True
    use_related: bool = True
    use_fuzzy: bool = True
    answer_weight: float = 0.6  # an answer-only hit is weaker evidence than a hit in the stored question
    related_weight: float = 0.75  # a related-term hit is weaker than the same word
    topic_weight: float = 0.3  # title/tag words say which story, not which question
    question_coverage: float = 0.2  # share of the score from how much of the stored question is covered
    cue_bonus: float = 0.06  # same question type (who/why/when/where/how many/how long)
    cue_penalty: float = 0.15  # clashing types: "who ...?" is not answered by "When ...?"
    topic_hit: float = 0.5  # credit a title/tag word gives a pair whose question does not contain it
    known_unseen: float = 0.6  # weight of a common word absent from the thread, relative to an unknown word
    cue_term: float = 0.15  # weight of the question type as a term, relative to an unknown word
    threshold: float = 0.46  # accept the best pair at or above this score
    low_threshold: float = 0.28  # ... or above this one when it clearly beats the runner-up
    dominance: float = 2.0  # "clearly": best >= dominance * runner-up
    # Refuse when the best pair's answer lacks the kind of fact asked for (domain.answer_type).
    check_answer_type: bool = True


DEFAULT = Tuning()

# Question-type cues read from the raw words (they are stopwords, so terms() drops them).
_CUES = {"who": "who", "whom": "who", "whos": "who", "why": "why", "whys": "why", "when": "when",
         "whens": "when", "where": "where", "wheres": "where"}  # fmt: skip
# "how" + adjective asks for a measure; "how long" asks for a duration, which "when" questions also get.
_HOW = {
    "long": "duration",
    **{w: "measure" for w in "many much old big tall hot cold far fast large high often".split()},
}
_COMPATIBLE = {frozenset({"when", "duration"}), frozenset({"duration", "measure"})}

# A stored question's type implies related-term groups: "Why ...?" answers a user's "what caused ...",
# "How many ...?" answers "death toll", "What is in ...?" answers "main provisions". Each cue names
# members of the groups it stands for.
_CUE_GROUP_WORDS = {"why": ("reason",), "who": ("person",), "when": ("date",), "where": ("location",),
                    "measure": ("number", "size"), "duration": ("duration",), "summary": ("summary",)}  # fmt: skip

# Phrases whose meaning a bag of stopwords loses; rewritten before tokenising (on folded text).
_PHRASES = (
    (re.compile(r"\b(?:have|has|had|need|needs) to\b"), "must"),
    (re.compile(r"^(?:so )?(?:what is|what s|whats|what are|what was) (?:in|inside) "), "summary "),
    (re.compile(r"\b(the|in|from|to) us\b"), r"\1 usa"),  # "does the us ...": lower-case country
    # "why can't they ..." asks what stands in the way.
    (
        re.compile(r"\bwhy (?:can t|cant|cannot|couldn t|couldnt|won t|wont|haven t|havent|isn t|isnt)\b"),
        "why obstacle",
    ),
    # "how do I know if ..." asks for the signs of something.
    (re.compile(r"\bhow (?:do|can|would|will|could) (?:i|you|we|they) (?:know|tell)\b"), "how signs"),
)
# First-person words: "should I sell" is answered by "Should ordinary investors ...", "What does it mean
# for my taxes?", "What should parents do?" - questions about the reader's own situation.
_SELF_USER = frozenset({"i", "my", "me", "mine", "im", "ive", "we", "our", "us"})
_SELF_STORED = frozenset({"i", "my", "me", "you", "your", "ordinary", "users", "parents", "consumers",
                          "households", "individuals", "investors", "we", "our"})  # fmt: skip

# Stopwords that still tell questions apart ("help other patients", "has it happened before").
_KEEP = frozenset({"other", "again", "against", "before", "most", "more", "up", "down"})

_MAX_QUESTION_CHARS = 500  # a follow-up is a sentence; the tail of a pasted essay only adds noise and time
_MAX_TERMS = 24


_US = re.compile(r"\bU\.?S\.?A?\b")  # the country, before folding makes it the pronoun "us"


def _words(text: str) -> list[str]:
    folded = fold(_US.sub(" usa ", text))
    for pattern, replacement in _PHRASES:
        folded = pattern.sub(replacement, folded)
    return folded.split()


def _cue(words: Sequence[str]) -> str | None:
    if words and words[0] == "summary":
        return "summary"
    for i, word in enumerate(words):
        if word == "how":
            nxt = words[i + 1] if i + 1 < len(words) else ""
            return _HOW.get(nxt, "how")
        if word in _CUES:
            return _CUES[word]
    return None


def _content(words: Sequence[str]) -> list[str]:
    return [w for w in words if w in _KEEP or (w not in STOPWORDS and w not in QUESTION_FILLER)]


@dataclass(frozen=True)
class _Pair:
    q_stems: frozenset[str]
    a_stems: frozenset[str]
    q_groups: frozenset[int]
    cue_groups: frozenset[int]  # the group the stored question's type stands for ("Why" -> reason)
    a_groups: frozenset[int]
    q_weight: float  # sum of idf of the stored question's own stems, for question coverage
    cue: str | None
    personal: bool  # asks about the reader's own situation ("my taxes", "ordinary users")
    q_words: frozenset[str]  # folded words, stopwords included: breaks ties by literal wording


@dataclass(frozen=True)
class _Index:
    pairs: tuple[_Pair, ...]
    idf: dict[str, float]
    group_idf: dict[int, float]
    unseen_idf: float
    topic: frozenset[str]
    known_words: frozenset[str]  # folded words that need no typo correction
    thread_words: frozenset[str]  # folded words of this thread, preferred when correcting a typo
    choices: tuple[str, ...]  # folded words a misspelling may be corrected to


def _idf(df: int, n: int) -> float:
    # BM25's idf, floored so a word present everywhere still counts a little.
    return max(math.log(1.0 + (n - df + 0.5) / (df + 0.5)), 0.05)


def _groups(stems: frozenset[str]) -> frozenset[int]:
    out: set[int] = set()
    for s in stems:
        out |= related_groups(s)
    return frozenset(out)


# As many threads as bot.answers keeps sentence vectors for: a follow-up on any of them is warm.
@lru_cache(maxsize=1024)
def _prepare(qa: tuple[tuple[str, str], ...], title: str, tags: tuple[str, ...]) -> _Index:
    n = len(qa)
    raw = []
    surface: set[str] = set()
    for q, a in qa:
        q_words, a_words = _words(q), _words(a)
        surface.update(q_words, a_words)
        q_stems = frozenset(stem(w) for w in _content(q_words))
        a_stems = frozenset(stem(w) for w in _content(a_words))
        raw.append(
            (q_stems, a_stems, _cue(q_words), bool(_SELF_STORED.intersection(q_words)), frozenset(q_words))
        )
    df: dict[str, int] = {}
    group_df: dict[int, int] = {}
    for q_stems, a_stems, _, _, _ in raw:
        both = q_stems | a_stems
        for s in both:
            df[s] = df.get(s, 0) + 1
        for g in _groups(both):
            group_df[g] = group_df.get(g, 0) + 1
    idf = {s: _idf(d, n) for s, d in df.items()}
    pairs = []
    for q_stems, a_stems, cue, personal, q_surface in raw:
        q_groups = _groups(q_stems)
        cue_groups = frozenset(
            g for word in _CUE_GROUP_WORDS.get(cue or "", ()) for g in related_groups(stem(word))
        )
        a_groups = _groups(a_stems)
        pairs.append(
            _Pair(
                q_stems,
                a_stems,
                q_groups,
                cue_groups,
                a_groups,
                sum(idf[s] for s in q_stems),
                cue,
                personal,
                q_surface,
            )
        )
    topic_words = fold(" ".join([title, *tags])).split()
    surface.update(topic_words)
    vocabulary = related_vocabulary()
    # Function words are choices too, so "shoulld" or "whree" become the stopwords they are meant to be.
    function_words = {w for w in STOPWORDS | QUESTION_FILLER if len(w) >= 4}
    choices = tuple(
        sorted(w for w in surface | vocabulary | function_words if len(w) >= 4 and not w.isdigit())
    )
    return _Index(
        pairs=tuple(pairs),
        idf=idf,
        group_idf={g: _idf(d, n) for g, d in group_df.items()},
        unseen_idf=_idf(0, n),
        topic=frozenset(stem(w) for w in _content(topic_words)),
        known_words=frozenset(surface | vocabulary | STOPWORDS | QUESTION_FILLER),
        thread_words=frozenset(surface),
        choices=choices,
    )


def _correct(word: str, index: _Index) -> str:
    """Map a misspelt word onto the thread's vocabulary (edit distance 1, or 2 for long words)."""
    if word in index.known_words or len(word) < 4 or word.isdigit():
        return word
    limit = 1 if len(word) < 7 else 2
    # OSA distance counts a swap of neighbouring letters ("bototm") as one edit, the commonest thumb slip.
    found = extract(word, index.choices, scorer=OSA.distance, score_cutoff=limit, limit=8)
    if not found:
        return word

    def preference(candidate: tuple[str, float, int]) -> tuple[float, bool, bool, int]:
        choice, distance = candidate[0], candidate[1]
        prefix = next((i for i, (a, b) in enumerate(zip(choice, word, strict=False)) if a != b), len(word))
        # Fewest edits first; then the same first letter, a word of this thread, the longest shared start.
        return (distance, choice[0] != word[0], choice not in index.thread_words, -prefix)

    return min(found, key=preference)[0]


def _score_all(question: str, index: _Index, tuning: Tuning) -> list[float]:
    words = _words(question[:_MAX_QUESTION_CHARS])
    if tuning.use_fuzzy:
        words = [_correct(w, index) for w in words[: _MAX_TERMS * 3]]
    content = _content(words)[:_MAX_TERMS]
    stems = list(dict.fromkeys(stem(w) for w in content))
    if not stems:
        return [0.0] * len(index.pairs)
    user_cue = _cue(words)
    user_personal = bool(_SELF_USER.intersection(words))

    weighted: list[tuple[str, frozenset[int], float, bool]] = []
    for s in stems:
        groups = related_groups(s) if tuning.use_related else frozenset()
        if s in index.idf:
            weight = index.idf[s]
        elif groups & index.group_idf.keys():
            weight = max(index.group_idf[g] for g in groups if g in index.group_idf)
        else:
            # Unknown to this thread: the strongest sign the question is off-topic. Common question
            # vocabulary (in a related-term group) is a weaker sign than a name like "bitcoin".
            weight = index.unseen_idf * (tuning.known_unseen if groups else 1.0)
        topical = s in index.topic
        if topical:
            weight *= tuning.topic_weight
        weighted.append((s, groups, weight, topical))
    if user_cue in _CUE_GROUP_WORDS and tuning.cue_term > 0:
        # "why ...?" asks for a reason even when no word says so: the type is one more thing to explain,
        # explained by a stored question of the same type or one that mentions reasons, causes, ...
        cue_groups = frozenset(g for w in _CUE_GROUP_WORDS[user_cue] for g in related_groups(stem(w)))
        weighted.append((f"#{user_cue}", cue_groups, tuning.cue_term * index.unseen_idf, False))
    total = sum(w for _, _, w, _ in weighted)

    scores = []
    for pair in index.pairs:
        gained = 0.0
        matched_stems: set[str] = set()
        matched_groups: set[int] = set()
        for s, groups, weight, topical in weighted:
            hit = tuning.topic_hit if topical else 0.0
            # The stored question's type stands in for a word, unless the user asked another type.
            cue_fits = user_cue in (None, "how", pair.cue)
            if s in pair.q_stems or (cue_fits and groups & pair.cue_groups) or s == f"#{pair.cue}":
                hit = 1.0
                matched_stems.add(s)
            elif groups & pair.q_groups:
                hit = max(hit, tuning.related_weight)
                matched_groups |= groups & pair.q_groups
            if tuning.use_answers:
                answer_hit = 0.0
                if s in pair.a_stems:
                    answer_hit = tuning.answer_weight
                elif groups & pair.a_groups:
                    answer_hit = tuning.answer_weight * tuning.related_weight
                hit += (1.0 - hit) * answer_hit  # the answer adds evidence on top of the question
            gained += weight * hit
        score = gained / total
        if pair.q_weight > 0 and tuning.question_coverage > 0:
            covered = sum(
                index.idf[s]
                for s in pair.q_stems
                if s in matched_stems or (tuning.use_related and related_groups(s) & matched_groups)
            )
            share = covered / pair.q_weight
            score = (1 - tuning.question_coverage) * score + tuning.question_coverage * share
        # A generic "how" fits many question types; only specific types (who/why/when/...) agree or clash.
        if user_cue in _CUE_GROUP_WORDS and pair.cue in _CUE_GROUP_WORDS:
            if user_cue == pair.cue:
                score += tuning.cue_bonus
            elif frozenset({user_cue, pair.cue}) in _COMPATIBLE:
                score += tuning.cue_bonus / 2
            else:
                score -= tuning.cue_penalty
        if user_personal and pair.personal:
            score += tuning.cue_bonus
        # Tie-break only: equal evidence, so prefer the stored question worded most like the user's.
        score += 0.002 * len(pair.q_words.intersection(words))
        scores.append(min(max(score, 0.0), 1.0))
    return scores


def rank(
    question: str,
    qa: Sequence[tuple[str, str]],
    *,
    title: str = "",
    tags: Sequence[str] = (),
    tuning: Tuning = DEFAULT,
) -> list[float]:
    """Word score of every pair, 0..1: best_answer decides on it alone, domain.answering blends it."""
    if not qa:
        return []
    index = _prepare(tuple((q, a) for q, a in qa), title, tuple(tags))
    return _score_all(question, index, tuning)


def best_answer(
    question: str,
    qa: Sequence[tuple[str, str]],
    *,
    title: str = "",
    tags: Sequence[str] = (),
    tuning: Tuning = DEFAULT,
) -> Match | None:
    """The stored pair that answers `question` on words alone, or None (an honest refusal).

    With the sentence encoder loaded, the bot decides in domain.answering instead.
    """
    scores = rank(question, qa, title=title, tags=tags, tuning=tuning)
    return _decide(question, qa, scores, _likeliest_first(scores), tuning)


class Verdict(NamedTuple):
    match: Match | None  # the pair that answers, if one does
    nearest: int | None  # after a refusal: the pair close enough to ask "did you mean"
    order: tuple[int, ...]  # after a refusal: every pair, most likely first (the question buttons)


def judge(
    question: str,
    qa: Sequence[tuple[str, str]],
    *,
    title: str = "",
    tags: Sequence[str] = (),
    tuning: Tuning = DEFAULT,
) -> Verdict:
    """best_answer, and after a refusal what to offer instead, from one scoring of the pairs.

    Scores between the two thresholds are often the right pair worded differently; the user gets a
    "did you mean" button instead of a guess presented as an answer.
    """
    scores = rank(question, qa, title=title, tags=tags, tuning=tuning)
    order = _likeliest_first(scores)
    match = _decide(question, qa, scores, order, tuning)
    if match is not None:
        return Verdict(match, None, ())
    return Verdict(None, _nearest(scores, order, tuning), order)


def closest(
    question: str,
    qa: Sequence[tuple[str, str]],
    *,
    title: str = "",
    tags: Sequence[str] = (),
    tuning: Tuning = DEFAULT,
) -> int | None:
    """The stored question that came nearest, if it came near enough to suggest (answered or not)."""
    scores = rank(question, qa, title=title, tags=tags, tuning=tuning)
    return _nearest(scores, _likeliest_first(scores), tuning)


def _nearest(scores: Sequence[float], order: Sequence[int], tuning: Tuning) -> int | None:
    return order[0] if order and scores[order[0]] >= tuning.low_threshold else None


def _likeliest_first(scores: Sequence[float]) -> tuple[int, ...]:
    return tuple(sorted(range(len(scores)), key=lambda i: -scores[i]))


def _decide(
    question: str,
    qa: Sequence[tuple[str, str]],
    scores: Sequence[float],
    order: Sequence[int],
    tuning: Tuning,
) -> Match | None:
    if not order:
        return None
    best = order[0]
    if tuning.check_answer_type and not answer_type.present(answer_type.wanted(question), qa[best][1]):
        return None
    top = scores[best]
    runner_up = scores[order[1]] if len(order) > 1 else 0.0
    # A low score is usually an off-topic question, but a single well-matched pair among unrelated ones is
    # a real answer whose wording is just far from the user's.
    confident = top >= tuning.threshold
    distinct = top >= tuning.low_threshold and top >= tuning.dominance * runner_up
    if not (confident or distinct):
        return None
    return Match(index=best, score=round(top, 4))
