"""Feeds from URLs: clear errors for every way a download goes wrong, and nothing changes then."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.feeds import import_from
from storage.feed import MAX_FEED_BYTES, FeedError, read_source
from storage.threads import trending
from tests.feeds import feed, thread


def client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True, max_redirects=3)


async def test_a_feed_is_imported_from_a_url(sessions: async_sessionmaker[AsyncSession]) -> None:
    body = feed(thread("from-the-web", rank=1))
    report = await import_from(
        sessions,
        "https://feeds.example.org/top.json",
        client=client(lambda r: httpx.Response(200, content=body)),
    )
    assert report.new == ["from-the-web"]
    async with sessions() as session:
        assert [s.slug for s in await trending(session)] == ["from-the-web"]


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        (lambda r: httpx.Response(404), "HTTP 404"),
        (lambda r: httpx.Response(503), "HTTP 503"),
        (lambda r: httpx.Response(302, headers={"Location": str(r.url)}), "too many redirects"),
        (
            lambda r: httpx.Response(200, headers={"Content-Length": str(MAX_FEED_BYTES + 1)}, content=b"{}"),
            "larger",
        ),
        (lambda r: (_ for _ in ()).throw(httpx.ConnectTimeout("slow")), "timed out"),
        (lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused")), "ConnectError"),
    ],
)
async def test_download_failures_are_clear_errors(
    handler: Callable[[httpx.Request], httpx.Response], reason: str
) -> None:
    with pytest.raises(FeedError, match=reason):
        await read_source("https://feeds.example.org/top.json", client=client(handler))


async def test_a_failed_refresh_keeps_the_stored_stories(sessions: async_sessionmaker[AsyncSession]) -> None:
    ok = client(lambda r: httpx.Response(200, content=feed(thread("kept", rank=1))))
    await import_from(sessions, "https://feeds.example.org/top.json", client=ok)
    broken = client(lambda r: httpx.Response(200, content=b"<html>maintenance</html>"))
    with pytest.raises(FeedError):
        await import_from(sessions, "https://feeds.example.org/top.json", client=broken)
    async with sessions() as session:
        assert [s.slug for s in await trending(session)] == ["kept"]
