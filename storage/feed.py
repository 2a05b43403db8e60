"""Reading and validating story feeds (format version 1). Pure parsing: nothing here touches the database."""

from __future__ import annotations

import asyncio
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

MAX_FEED_BYTES = 100 * 1024 * 1024  # 10,000 threads with full briefs and Q&A come to ~60 MiB
_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_URL = re.compile(r"^https?://", re.IGNORECASE)
LEANING_KEYS = ("left", "center", "right")


class FeedError(Exception):
    """The document is not a feed (or cannot be read): nothing may change."""


class ThreadInvalid(Exception):
    """One thread breaks a rule: it is skipped and reported, the rest land."""


@dataclass(frozen=True)
class Article:
    title: str
    url: str
    source: str | None = None
    published_at: datetime | None = None


@dataclass
class ParsedThread:
    slug: str
    title: str
    summary: str
    rank: int | None = None
    virality: float | None = None
    article_count: int | None = None
    first_seen: datetime | None = None
    perspectives: dict[str, str] = field(default_factory=dict)
    brief: list[str] = field(default_factory=list)
    ai_generated: bool = False
    qa: list[tuple[str, str]] = field(default_factory=list)
    leaning: dict[str, float] = field(default_factory=dict)
    regions: dict[str, float] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Skipped:
    thread_id: str
    reason: str


@dataclass
class ParsedFeed:
    generated_at: datetime
    threads: list[ParsedThread]
    skipped: list[Skipped]


def parse_datetime(value: Any, what: str) -> datetime:
    if not isinstance(value, str) or "T" not in value.upper():
        raise ThreadInvalid(f"{what} must be an RFC 3339 date-time, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise ThreadInvalid(f"{what} must be an RFC 3339 date-time, got {value!r}") from None
    if parsed.tzinfo is None:
        raise ThreadInvalid(f"{what} needs a UTC offset (e.g. 'Z' or '+02:00'), got {value!r}")
    return parsed


def _text(value: Any, what: str, *, maximum: int, minimum: int = 1) -> str:
    if not isinstance(value, str):
        raise ThreadInvalid(f"{what} must be a string")
    if not minimum <= len(value) <= maximum:
        raise ThreadInvalid(f"{what} must be {minimum}–{maximum} characters, got {len(value)}")
    return value


def _number(value: Any, what: str, *, integer: bool = False, minimum: float = 0) -> float:
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type or not math.isfinite(value):
        raise ThreadInvalid(f"{what} must be {'an integer' if integer else 'a number'}, got {value!r}")
    if value < minimum:
        raise ThreadInvalid(f"{what} must be at least {minimum:g}, got {value!r}")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ThreadInvalid(f"{what} must be a list")
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ThreadInvalid(f"{what} must be an object")
    return value


def _percentages(value: Any, what: str, keys: tuple[str, ...] | None) -> tuple[dict[str, float], bool]:
    """Returns the shares and whether they add up to 100 (±1)."""
    shares: dict[str, float] = {}
    for key, share in _object(value, what).items():
        if keys is not None and key not in keys:
            raise ThreadInvalid(f"{what} has an unknown key {key!r} (allowed: {', '.join(keys)})")
        number = _number(share, f"{what}.{key}")
        if number > 100:
            raise ThreadInvalid(f"{what}.{key} must be at most 100, got {share!r}")
        shares[key] = float(number)
    adds_up = not shares or abs(sum(shares.values()) - 100) <= 1
    return shares, adds_up


def parse_thread(raw: Any) -> ParsedThread:
    data = _object(raw, "thread")
    slug = data.get("id")
    if not isinstance(slug, str) or not _ID.match(slug):
        raise ThreadInvalid("id must be 1–128 characters of A-Z a-z 0-9 . _ -")

    def get(name: str) -> Any:
        # Upstreams write null for "not known": treat it as absent rather than as a broken thread.
        return data.get(name)

    thread = ParsedThread(
        slug=slug,
        title=_text(get("title"), "title", maximum=200),
        summary=_text(get("summary"), "summary", maximum=2000),
    )
    if get("rank") is not None:
        thread.rank = int(_number(get("rank"), "rank", integer=True, minimum=1))
    if get("virality") is not None:
        thread.virality = float(_number(get("virality"), "virality"))
    if get("article_count") is not None:
        thread.article_count = int(_number(get("article_count"), "article_count", integer=True))
    if get("first_seen") is not None:
        thread.first_seen = parse_datetime(get("first_seen"), "first_seen")
    if get("perspectives") is not None:
        for key, text in _object(get("perspectives"), "perspectives").items():
            if key not in LEANING_KEYS:
                raise ThreadInvalid(f"perspectives has an unknown key {key!r} (allowed: left, center, right)")
            thread.perspectives[key] = _text(text, f"perspectives.{key}", maximum=2000)
    if get("brief") is not None:
        thread.brief = [
            _text(p, f"brief[{i}]", maximum=4000) for i, p in enumerate(_list(get("brief"), "brief"))
        ]
    if get("ai_generated") is not None:
        if not isinstance(get("ai_generated"), bool):
            raise ThreadInvalid("ai_generated must be true or false")
        thread.ai_generated = get("ai_generated")
    if get("qa") is not None:
        for i, pair in enumerate(_list(get("qa"), "qa")):
            pair = _object(pair, f"qa[{i}]")
            thread.qa.append(
                (
                    _text(pair.get("q"), f"qa[{i}].q", maximum=300),
                    _text(pair.get("a"), f"qa[{i}].a", maximum=2000),
                )
            )
    if get("leaning") is not None:
        thread.leaning, adds_up = _percentages(get("leaning"), "leaning", LEANING_KEYS)
        if not adds_up:
            thread.flags.append("leaning does not add up to 100")
    if get("regions") is not None:
        thread.regions, adds_up = _percentages(get("regions"), "regions", None)
        if not adds_up:
            thread.flags.append("regions do not add up to 100")
    if get("tags") is not None:
        for i, tag in enumerate(_list(get("tags"), "tags")):
            tag = _text(tag, f"tags[{i}]", maximum=50).strip().lower()
            if tag and tag not in thread.tags:
                thread.tags.append(tag)
    if get("articles") is not None:
        for i, item in enumerate(_list(get("articles"), "articles")):
            item = _object(item, f"articles[{i}]")
            url = item.get("url")
            if not isinstance(url, str) or not _URL.match(url) or any(c.isspace() for c in url):
                raise ThreadInvalid(f"articles[{i}].url must be an http(s) URL")
            source = item.get("source")
            if source is not None and not isinstance(source, str):
                raise ThreadInvalid(f"articles[{i}].source must be a string")
            published = item.get("published_at")
            thread.articles.append(
                Article(
                    title=_text(item.get("title"), f"articles[{i}].title", maximum=10_000),
                    url=url,
                    source=source or None,
                    published_at=parse_datetime(published, f"articles[{i}].published_at")
                    if published
                    else None,
                )
            )
    return thread


def parse_feed(raw: bytes | str) -> ParsedFeed:
    """Validate a whole document. Raises FeedError when it is not a feed at all."""
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeedError(f"not a JSON document: {exc}") from None
    if not isinstance(document, dict):
        raise FeedError("not a story feed: the document must be a JSON object")
    version = document.get("version")
    if version != 1 or isinstance(version, bool):
        raise FeedError(f"unsupported feed version {version!r} (this bot reads version 1)")
    try:
        generated_at = parse_datetime(document.get("generated_at"), "generated_at")
    except ThreadInvalid as exc:
        raise FeedError(str(exc)) from None
    threads_raw = document.get("threads")
    if not isinstance(threads_raw, list):
        raise FeedError("not a story feed: 'threads' must be a list")

    threads: list[ParsedThread] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for position, raw_thread in enumerate(threads_raw):
        label = raw_thread.get("id") if isinstance(raw_thread, dict) else None
        label = label if isinstance(label, str) and label else f"#{position + 1}"
        try:
            thread = parse_thread(raw_thread)
        except ThreadInvalid as exc:
            skipped.append(Skipped(label[:128], str(exc)))
            continue
        if thread.slug in seen:
            skipped.append(Skipped(thread.slug, "duplicate id in this feed (the first one was kept)"))
            continue
        seen.add(thread.slug)
        threads.append(thread)
    assign_ranks(threads)
    return ParsedFeed(generated_at=generated_at, threads=threads, skipped=skipped)


def assign_ranks(threads: list[ParsedThread]) -> None:
    """Threads without a rank are ordered by virality after the ranked ones."""
    unranked = sorted((t for t in threads if t.rank is None), key=lambda t: -(t.virality or 0.0))
    next_rank = max((t.rank for t in threads if t.rank is not None), default=0) + 1
    for offset, thread in enumerate(unranked):
        thread.rank = next_rank + offset


def _read_file(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FEED_BYTES:
            raise FeedError(f"{path}: larger than {MAX_FEED_BYTES // (1024 * 1024)} MiB")
        return path.read_bytes()
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror or exc}") from None


async def read_source(source: str, *, client: httpx.AsyncClient | None = None) -> bytes:
    """The raw document from a file path or an http(s) URL, with a size cap and clear errors."""
    if not re.match(r"^https?://", source, re.IGNORECASE):
        return await asyncio.to_thread(_read_file, Path(source))

    own_client = client is None
    http = client or httpx.AsyncClient(
        timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=True, max_redirects=3
    )
    try:
        async with http.stream("GET", source, headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                raise FeedError(f"{source}: HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > MAX_FEED_BYTES:
                raise FeedError(f"{source}: larger than {MAX_FEED_BYTES // (1024 * 1024)} MiB")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_FEED_BYTES:
                    raise FeedError(f"{source}: larger than {MAX_FEED_BYTES // (1024 * 1024)} MiB")
            return bytes(body)
    except httpx.TooManyRedirects:
        raise FeedError(f"{source}: too many redirects") from None
    except httpx.TimeoutException:
        raise FeedError(f"{source}: timed out") from None
    except httpx.HTTPError as exc:
        raise FeedError(f"{source}: {exc.__class__.__name__}: {exc}") from None
    finally:
        if own_client:
            await http.aclose()
