"""Shared by the delivery benches: a fake Bot API in its own process, a fresh database, N chats."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.db import create_engine, upgrade  # noqa: E402
from storage.outbox import campaign_counts  # noqa: E402

TOKEN = "123456789:AAFakeTokenForStorybotTests_0123456789"
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def fake_server(rate: int = 0) -> Iterator[str]:
    """`python -m tests.fake_telegram` in its own process (its own GIL); yields its base URL."""
    port = free_port()
    args = [sys.executable, "-m", "tests.fake_telegram", "--port", str(port)]
    if rate:
        args += ["--rate", str(rate)]
    proc = subprocess.Popen(args, cwd=ROOT, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{base}/_fake/stats", timeout=1)
                break
            time.sleep(0.1)
        yield base + "/bot"
    finally:
        proc.terminate()
        proc.wait(10)


def fake_stats(base_url: str) -> dict[str, Any]:
    root = base_url.removesuffix("/bot")
    return dict(httpx.get(f"{root}/_fake/stats", timeout=10).json()["result"])


@contextlib.asynccontextmanager
async def database(kind: str) -> AsyncIterator[AsyncEngine]:
    """A fresh migrated database: SQLite in a temp dir, or a fresh schema on PostgreSQL."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            engine = create_engine(f"sqlite+aiosqlite:///{tmp}/bench.db")
            await upgrade(engine)
            try:
                yield engine
            finally:
                await engine.dispose()
        return
    url = os.environ.get("STORYBOT_TEST_DATABASE_URL") or PG_DEFAULT
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        await upgrade(engine)
        yield engine
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def add_chats(engine: AsyncEngine, n: int, first_id: int = 10_000_000) -> None:
    """N private chats, generated inside the database (no Python objects per chat)."""
    async with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            await conn.execute(
                text(
                    "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < :n) "
                    "INSERT INTO chats (id, type, started_at, last_seen_at) "
                    "SELECT :first + i, 'private', '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000' FROM s"
                ),
                {"n": n, "first": first_id},
            )
        else:
            await conn.execute(
                text(
                    "INSERT INTO chats (id, type, started_at, last_seen_at) "
                    "SELECT :first + i, 'private', now(), now() FROM generate_series(0, :n - 1) AS i"
                ),
                {"n": n, "first": first_id},
            )


def show(figures: dict[str, Any]) -> None:
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(figures))


async def wait_until(predicate: Any, *, every: float = 0.2, limit: float = 3600) -> None:
    deadline = time.monotonic() + limit
    while not await predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("bench did not finish")
        await asyncio.sleep(every)


async def campaign_done(
    sessions: async_sessionmaker[AsyncSession], campaign_id: int, *, every: float
) -> dict[str, int]:
    """Wait until nothing of the campaign is pending; its final counts by status."""
    counts: dict[str, int] = {}

    async def finished() -> bool:
        nonlocal counts
        async with sessions() as session:
            counts = await campaign_counts(session, campaign_id)
        return not counts.get("pending")

    await wait_until(finished, every=every)
    return counts
