"""Digest times: parsing what people type, time zones, and when the next digest is due.

Plain functions: no Telegram, no database, no clock (every `now` is passed in, an aware datetime).

Why due times are computed from local *dates* and never by adding 24 hours: a digest at 07:30 in
Europe/Berlin is 06:30 UTC in winter and 05:30 UTC in summer. Stepping one local day and resolving
07:30 in the zone again gives the right instant on both sides of a DST change, so a change neither
skips nor doubles a digest.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

MINUTES_PER_DAY = 24 * 60

# The short list offered as buttons; anything else can be typed (city, IANA name or UTC offset).
COMMON_ZONES: tuple[tuple[str, str], ...] = (
    ("UTC", "UTC"),
    ("London", "Europe/London"),
    ("Berlin / Paris", "Europe/Berlin"),
    ("Kyiv / Athens", "Europe/Kyiv"),
    ("Istanbul / Moscow", "Europe/Istanbul"),
    ("Dubai", "Asia/Dubai"),
    ("India", "Asia/Kolkata"),
    ("Singapore", "Asia/Singapore"),
    ("Tokyo", "Asia/Tokyo"),
    ("Sydney", "Australia/Sydney"),
    ("New York", "America/New_York"),
    ("Chicago", "America/Chicago"),
    ("Denver", "America/Denver"),
    ("Los Angeles", "America/Los_Angeles"),
    ("São Paulo", "America/Sao_Paulo"),
)

# Cities people type that are not the last part of an IANA name.
CITY_ALIASES = {
    "kiev": "Europe/Kyiv",
    "paris": "Europe/Paris",
    "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "cologne": "Europe/Berlin",
    "washington": "America/New_York",
    "boston": "America/New_York",
    "miami": "America/New_York",
    "atlanta": "America/New_York",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "houston": "America/Chicago",
    "dallas": "America/Chicago",
    "beijing": "Asia/Shanghai",
    "mumbai": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "st petersburg": "Europe/Moscow",
    "saint petersburg": "Europe/Moscow",
    "rio": "America/Sao_Paulo",
    "rio de janeiro": "America/Sao_Paulo",
    "ankara": "Europe/Istanbul",
    "melbourne": "Australia/Melbourne",
    "gmt": "UTC",
    "utc": "UTC",
    "z": "UTC",
}

# What /subscribe accepts, shown (as markup, by domain.render) with every error.
EXAMPLES = ("/subscribe 07:30 Europe/Berlin", "/subscribe 7am", "/subscribe 19:00 UTC+3")


class ScheduleError(ValueError):
    """What the user typed cannot be understood; the message says why, in plain words."""


# --- times ------------------------------------------------------------------------------------

_TIME = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.|h)?$", re.IGNORECASE)


def parse_time(text: str) -> int:
    """'07:30', '7:30', '7am', '7:30 pm', '19h', '19' → minutes after local midnight."""
    m = _TIME.match(text.strip())
    if not m:
        raise ScheduleError(f"“{text.strip()}” is not a time. Try 07:30, 7am or 19:00.")
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    suffix = (m.group(3) or "").lower().replace(".", "")
    if suffix in ("am", "pm"):
        if not 1 <= hour <= 12:
            raise ScheduleError(f"“{text.strip()}”: with am/pm the hour is 1 to 12.")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ScheduleError(f"“{text.strip()}” is not a time of day. Try 07:30 or 19:00.")
    return hour * 60 + minute


def format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


# --- zones ------------------------------------------------------------------------------------

_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    """Lower-cased IANA names and their last parts ('new_york', 'new york') → canonical name."""
    names: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if name.startswith(("Etc/", "SystemV/", "posix/", "right/")) or "/" not in name:
            continue
        names.setdefault(name.lower(), name)
    for name in sorted(available_timezones()):
        if "/" not in name or name.startswith(("Etc/", "SystemV/", "posix/", "right/")):
            continue
        city = name.rsplit("/", 1)[1].lower()
        # Canonical regions win over legacy aliases with the same city (US/..., Canada/...).
        if name.split("/", 1)[0] in {
            "Europe",
            "America",
            "Asia",
            "Africa",
            "Australia",
            "Pacific",
            "Atlantic",
            "Indian",
        }:
            names.setdefault(city, name)
            names.setdefault(city.replace("_", " "), name)
    return names


def offset_name(sign: str, hours: int, minutes: int) -> str:
    if hours == 0 and minutes == 0:
        return "UTC"
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def parse_zone(text: str) -> str:
    """A city, an IANA name or a UTC offset → the zone name we store ('Europe/Berlin', 'UTC+03:00')."""
    raw = " ".join(text.strip().split())
    if not raw:
        raise ScheduleError("Which time zone? Type a city (Berlin), a zone (Europe/Berlin) or UTC+3.")
    # 'São Paulo' → 'sao paulo': IANA names are ASCII.
    folded = "".join(c for c in unicodedata.normalize("NFKD", raw) if not unicodedata.combining(c))
    lowered = folded.lower()
    m = _OFFSET.match(lowered.replace(" ", ""))
    if m:
        sign, hours, minutes = m.group(1), int(m.group(2)), int(m.group(3) or 0)
        if hours > 14 or minutes >= 60 or (hours == 14 and minutes):
            raise ScheduleError(f"“{raw}” is not a UTC offset: they run from UTC-12 to UTC+14.")
        return offset_name(sign, hours, minutes)
    if lowered in CITY_ALIASES:
        return CITY_ALIASES[lowered]
    names = _zone_names()
    key = lowered.replace(" ", "_")
    for candidate in (lowered, key, lowered.replace("_", " ")):
        if candidate in names:
            return names[candidate]
    raise ScheduleError(
        f"I don't know the time zone “{raw}”. Type a big city near you (Berlin, New York), "
        "a zone name (Europe/Berlin) or an offset (UTC+3)."
    )


def zone(name: str) -> tzinfo:
    """The tzinfo for a stored zone name (IANA, 'UTC' or 'UTC±HH:MM')."""
    return _zone(name)


@lru_cache(maxsize=1024)
def _zone(name: str) -> tzinfo:
    if name == "UTC":
        return UTC
    m = re.fullmatch(r"UTC([+-])(\d{2}):(\d{2})", name)
    if m:
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        return timezone(delta if m.group(1) == "+" else -delta, name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown time zone {name!r}") from exc


@dataclass(frozen=True)
class SubscribeArgs:
    minute: int | None
    zone: str | None


def parse_subscribe_args(text: str) -> SubscribeArgs:
    """'/subscribe 07:30 Europe/Berlin', '7am', '19:00 UTC+3', '7 am New York', 'Berlin 7:30'."""
    words = text.split()
    if not words:
        return SubscribeArgs(None, None)
    # The time is the first word (or two: '7 am'), or else the last; the rest is the zone.
    for take in ((0, 2), (0, 1), (-2, None), (-1, None)):
        start, end = take
        part = words[start:end] if end is not None else words[start:]
        if not part or (len(part) == 2 and part[1].lower().rstrip(".") not in ("am", "pm", "a.m", "p.m")):
            continue
        try:
            minute = parse_time(" ".join(part))
        except ScheduleError:
            continue
        rest = words[end:] if start == 0 and end is not None else words[:start]
        return SubscribeArgs(minute, parse_zone(" ".join(rest)) if rest else None)
    if len(words) <= 3:
        try:
            return SubscribeArgs(None, parse_zone(" ".join(words)))
        except ScheduleError:
            pass
    raise ScheduleError(f"I couldn't find a time in “{text.strip()}”.")


# --- due times --------------------------------------------------------------------------------


def local_instant(day: date, minute: int, tz: tzinfo) -> datetime:
    """The UTC instant of `minute` on local `day`.

    A time that does not exist that day (the hour skipped when DST starts) resolves with the offset
    from before the change, i.e. as many minutes after the jump: 02:30 becomes 03:30, so the digest
    still comes that day. A time that exists twice (DST ends) is the first of the two (fold=0).
    """
    naive = datetime.combine(day, time(minute // 60, minute % 60))
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def local_day(now: datetime, tz: tzinfo) -> date:
    return now.astimezone(tz).date()


def first_due(now: datetime, minute: int, tz: tzinfo, last_digest_on: date | None = None) -> datetime:
    """The next digest after a (re)subscription or a change of time or zone: today if its time is
    still ahead, else tomorrow; never a second one on a local day that already had its digest."""
    day = local_day(now, tz)
    if last_digest_on is not None and last_digest_on >= day:
        day = last_digest_on + timedelta(days=1)
    instant = local_instant(day, minute, tz)
    if instant <= now:
        instant = local_instant(day + timedelta(days=1), minute, tz)
    return instant


@dataclass(frozen=True)
class Plan:
    """What a tick does with a due subscriber (same for everyone with the same zone and time)."""

    day: date  # the local day whose digest is the latest one due
    due: datetime  # its instant
    next_due: datetime  # the following day's instant: always after `now`

    def sendable(self, now: datetime, grace: timedelta, last_digest_on: date | None) -> bool:
        """Send at most one digest per local day, and only if it is at most `grace` late: after a
        long downtime the missed digest is skipped rather than sent hours later (or twice)."""
        return now - self.due <= grace and (last_digest_on is None or self.day > last_digest_on)


def plan(now: datetime, minute: int, tz: tzinfo) -> Plan:
    """The latest local day whose digest time has come by `now`, and the next one after it.

    However long the bot was down, only the latest missed digest is considered; the ones before it
    are skipped, and the next due time is always in the future.
    """
    day = local_day(now, tz)
    due = local_instant(day, minute, tz)
    if due > now:
        day -= timedelta(days=1)
        due = local_instant(day, minute, tz)
    return Plan(day=day, due=due, next_due=local_instant(day + timedelta(days=1), minute, tz))


# --- quiet hours ------------------------------------------------------------------------------


def in_quiet_hours(local_minute: int, start: int | None, end: int | None) -> bool:
    """[start, end) in local minutes; wraps past midnight when start > end (22:00–07:00)."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= local_minute < end
    return local_minute >= start or local_minute < end


def release_time(now: datetime, tz: tzinfo, start: int | None, end: int | None) -> datetime:
    """`now` outside quiet hours; else the instant they end (held breaking cards go out then)."""
    local = now.astimezone(tz)
    minute = local.hour * 60 + local.minute
    if end is None or not in_quiet_hours(minute, start, end):
        return now
    day = local.date() if minute < end else local.date() + timedelta(days=1)
    return local_instant(day, end, tz)


def parse_quiet_hours(text: str) -> tuple[int, int] | None:
    """'22:00-07:00', '22-7', '10pm to 7am', 'off' → (start, end) minutes, or None for off."""
    raw = text.strip().lower()
    if raw in ("off", "none", "no", "0"):
        return None
    parts = re.split(r"\s*(?:-|–|—|to|until)\s*", raw)
    if len(parts) != 2:
        raise ScheduleError("Send quiet hours as two times, e.g. 22:00-07:00 (or “off”).")
    start, end = parse_time(parts[0]), parse_time(parts[1])
    if start == end:
        raise ScheduleError("Quiet hours need different start and end times, e.g. 22:00-07:00.")
    return start, end
