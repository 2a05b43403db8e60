"""Shared fixtures: a fresh, migrated database per test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage.db import create_engine, session_factory, upgrade
from tests.fake_telegram import FakeTelegram

PG_URL = os.environ.get("STORYBOT_TEST_DATABASE_URL", "").strip()
PG_SKIP = (
    "PostgreSQL tests need STORYBOT_TEST_DATABASE_URL "
    "(e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test); CI sets it"
)
SAMPLE_FEED = Path(__file__).resolve().parent.parent / "storage" / "data" / "sample_feed.json"


async def make_engine(kind: str, tmp_path: Path) -> tuple[AsyncEngine, str | None]:
    if kind == "sqlite":
        return create_engine(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"), None
    if not PG_URL:
        pytest.skip(PG_SKIP)
    from bot.config import normalize_database_url

    url = normalize_database_url(PG_URL)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    # Each test gets its own schema: tests can run side by side on one database.
    return create_engine(url, connect_args={"server_settings": {"search_path": schema}}), schema


async def drop_schema(schema: str) -> None:
    from bot.config import normalize_database_url

    admin = create_async_engine(normalize_database_url(PG_URL))
    async with admin.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng, schema = await make_engine(request.param, tmp_path)
    await upgrade(eng)
    try:
        yield eng
    finally:
        await eng.dispose()
        if schema:
            await drop_schema(schema)


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng, _ = await make_engine("sqlite", tmp_path)
    await upgrade(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
def sample_feed_bytes() -> bytes:
    return SAMPLE_FEED.read_bytes()


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    """A strict fake Bot API server on 127.0.0.1 (tests/fake_telegram.py), one per test."""
    with FakeTelegram() as server:
        yield server
