"""What goes into a digest and which threads become breaking cards: plain functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT_SIZE = 5
MIN_SIZE, MAX_SIZE = 3, 10
RECENT_DIGESTS = 3  # threads of this many past digests are left out of the next one (unless they climbed)
TOP_CANDIDATES = 50  # the per-tick cache: enough threads to fill any digest after the filters
BREAKING_TOP = 3


@dataclass(frozen=True)
class TopThread:
    """The part of a thread a digest line needs; loaded once per tick for every subscriber."""

    key: int
    rank: int
    previous_rank: int | None
    title: str
    summary: str
    tags: frozenset[str]
    virality: float | None = None
    previous_virality: float | None = None


def norm_tag(tag: str) -> str:
    """Topics compare case- and space-insensitively: 'Federal Reserve' == 'federal-reserve'."""
    return "-".join(tag.casefold().replace("_", " ").replace("-", " ").split())


def norm_tags(tags: Iterable[str]) -> frozenset[str]:
    return frozenset(t for t in (norm_tag(x) for x in tags) if t)


def recent_ranks(recent: Sequence[Sequence[Sequence[int]]]) -> dict[int, int]:
    """The best rank each thread had when it was sent in one of the last digests."""
    best: dict[int, int] = {}
    for digest in recent:
        for key, rank in digest:
            if key not in best or rank < best[key]:
                best[key] = rank
    return best


def select_threads(
    top: Sequence[TopThread],
    *,
    size: int,
    follow: Iterable[str] = (),
    mute: Iterable[str] = (),
    recent: Sequence[Sequence[Sequence[int]]] = (),
) -> list[TopThread]:
    """The digest for one subscriber, `top` being in rank order.

    Muted topics are out; followed topics come first; a thread sent in the last digests is left
    out unless it has climbed since (a better rank than when it was sent).
    """
    followed, muted = norm_tags(follow), norm_tags(mute)
    sent = recent_ranks(recent)
    fresh = [t for t in top if not (t.tags & muted) and (t.key not in sent or t.rank < sent[t.key])]
    first = [t for t in fresh if t.tags & followed]
    rest = [t for t in fresh if not (t.tags & followed)]
    return (first + rest)[: max(MIN_SIZE, min(MAX_SIZE, size))]


def remember(recent: Sequence[Sequence[Sequence[int]]], chosen: Sequence[TopThread]) -> list[list[list[int]]]:
    """The new memory of past digests: this one first, the oldest dropped."""
    entry = [[t.key, t.rank] for t in chosen]
    return [entry, *[[list(pair) for pair in d] for d in recent]][:RECENT_DIGESTS]


# --- breaking cards ---------------------------------------------------------------------------


def breaking_candidates(top: Sequence[TopThread], *, virality_jump: float) -> list[TopThread]:
    """Threads that newly entered the top 3, or whose virality rose by at least `virality_jump`
    since the previous feed. Callers only ask when there is a previous feed to compare with."""
    out = []
    for t in top:
        entered = t.rank <= BREAKING_TOP and (t.previous_rank is None or t.previous_rank > BREAKING_TOP)
        jumped = (
            virality_jump > 0
            and t.virality is not None
            and t.previous_virality is not None
            and t.virality - t.previous_virality >= virality_jump
        )
        if entered or jumped:
            out.append(t)
    return out


def wants_breaking(tags: frozenset[str], *, follow: Iterable[str], mute: Iterable[str]) -> bool:
    """Muted topics never push; someone who follows topics gets pushes about those topics only
    (a push interrupts, so it must be about what they asked for)."""
    followed, muted = norm_tags(follow), norm_tags(mute)
    if tags & muted:
        return False
    return not followed or bool(tags & followed)
