"""The figures a card shows, derived from stored data."""

from __future__ import annotations

from datetime import UTC, datetime

BLINDSPOT_SHARE = 10.0


def rank_change(rank: int | None, previous_rank: int | None) -> str:
    """`NEW` when the thread was not in the previous feed, else ▲n / ▼n / =."""
    if rank is None:
        return ""
    if previous_rank is None:
        return "NEW"
    if rank < previous_rank:
        return f"▲{previous_rank - rank}"
    if rank > previous_rank:
        return f"▼{rank - previous_rank}"
    return "="


def thread_age(first_seen: datetime | None, now: datetime | None = None) -> str:
    if first_seen is None:
        return ""
    if first_seen.tzinfo is None:
        first_seen = first_seen.replace(tzinfo=UTC)
    seconds = ((now or datetime.now(UTC)) - first_seen).total_seconds()
    if seconds < 3600:
        return "under an hour"
    hours = int(seconds // 3600)
    if hours < 24:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    days = hours // 24
    return f"{days} day{'s' if days != 1 else ''}"


def leaning_bar(leaning: dict[str, float], cells: int = 10) -> str:
    """Left / center / right shares as a row of coloured squares."""
    left, center, right = (float(leaning.get(k, 0.0)) for k in ("left", "center", "right"))
    total = left + center + right
    if total <= 0:
        return ""
    n_left = round(cells * left / total)
    n_right = round(cells * right / total)
    n_center = max(0, cells - n_left - n_right)
    return "🟦" * n_left + "⬜" * n_center + "🟥" * n_right


def blindspot(leaning: dict[str, float]) -> str | None:
    """The side whose share of the coverage is tiny, if one is."""
    if "left" not in leaning or "right" not in leaning:
        return None
    side = min(("left", "right"), key=lambda k: float(leaning[k]))
    other = "right" if side == "left" else "left"
    if float(leaning[side]) < BLINDSPOT_SHARE and float(leaning[other]) >= BLINDSPOT_SHARE:
        return side
    return None


def percent(value: float) -> str:
    return f"{value:.0f}%" if abs(value - round(value)) < 0.05 else f"{value:.1f}%"
