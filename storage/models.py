"""SQLAlchemy models. Schema changes go through Alembic migrations in storage/migrations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class Feed(Base):
    """One imported feed document: the moment its ranks belong to."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    generated_at: Mapped[datetime] = mapped_column(unique=True)
    imported_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(500))
    thread_count: Mapped[int] = mapped_column(Integer, default=0)
    # Set once a scheduler tick has looked at this feed for breaking cards (NULL: not yet). Claimed
    # with an UPDATE ... WHERE IS NULL, so one process does it even when several run.
    breaking_checked_at: Mapped[datetime | None]


class Thread(Base):
    """A story thread. `id` is our short key (callback data), `slug` the feed's stable id."""

    __tablename__ = "threads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(128), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    rank: Mapped[int | None] = mapped_column(Integer)
    previous_rank: Mapped[int | None] = mapped_column(Integer)
    virality: Mapped[float | None] = mapped_column(Float)
    previous_virality: Mapped[float | None] = mapped_column(Float)
    article_count: Mapped[int | None] = mapped_column(Integer)
    first_seen: Mapped[datetime | None]
    summary: Mapped[str] = mapped_column(Text)
    perspectives: Mapped[dict[str, Any]] = mapped_column(default=dict)
    brief: Mapped[list[Any]] = mapped_column(default=list)
    ai_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    qa: Mapped[list[Any]] = mapped_column(default=list)
    leaning: Mapped[dict[str, Any]] = mapped_column(default=dict)
    regions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    articles: Mapped[list[Any]] = mapped_column(default=list)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    # Rank/virality above belong to this feed; `in_feed` is false once a newer feed drops the thread.
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id"))
    in_feed: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_threads_in_feed_rank", "in_feed", "rank"),)


class RankHistory(Base):
    """A thread's rank in each imported feed: the change in rank is derived from it."""

    __tablename__ = "rank_history"

    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)
    virality: Mapped[float | None] = mapped_column(Float)


class Chat(Base):
    """Every chat that has started the bot: the audience of broadcasts and the follow-up context."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(16), default="private")
    title: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    # Set by the delivery engine on 403 / "chat not found"; cleared when the user comes back.
    blocked_at: Mapped[datetime | None]
    # The thread of the last card shown here: plain follow-up questions are about it.
    context_thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"))

    __table_args__ = (Index("ix_chats_blocked_at", "blocked_at"),)


class Campaign(Base):
    """One thing sent to many chats (a broadcast; later digests and breaking cards).

    `payload` says what to send (see domain.delivery); the outbox holds one row per recipient.
    A broadcast starts as a 'draft' (the admin's preview) and is queued on Confirm.
    """

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    # draft → active → done | cancelled
    status: Mapped[str] = mapped_column(String(16), default="draft")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    queued_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    total: Mapped[int] = mapped_column(Integer, default=0)
    # The admin's progress message, edited as the campaign moves; the last text avoids
    # "message is not modified" (and re-edits after a restart).
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_text: Mapped[str | None] = mapped_column(Text)
    progress_at: Mapped[float | None] = mapped_column(Float)
    # Outcome counts kept when a finished campaign's outbox rows are pruned (storage.outbox.prune).
    final_counts: Mapped[dict[str, int] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_campaigns_status", "status"),)


class Outbox(Base):
    """One row per (campaign, chat): what is left to send and what happened to each send.

    Times here are epoch seconds (floats): the claim compares them on every poll, and plain numbers
    compare the same on SQLite and PostgreSQL with no time-zone conversion.
    `available_at` is when the row may next be claimed: 0 when queued, the lease's end while a worker
    holds it (so a dead worker's rows come back by themselves), the backoff's end after a retryable
    error.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # pending → sent | failed | blocked | cancelled
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[float] = mapped_column(Float, default=0.0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[float | None] = mapped_column(Float)
    # Per-recipient content (digests); NULL means the campaign's payload.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ux_outbox_campaign_chat", "campaign_id", "chat_id", unique=True),
        Index("ix_outbox_claim", "status", "available_at"),
        Index("ix_outbox_campaign_status", "campaign_id", "status"),
        Index("ix_outbox_sent_at", "sent_at"),
    )


class Subscription(Base):
    """A chat's daily digest and breaking-card settings (one row per chat, kept on unsubscribe).

    `next_due_at` is the UTC instant of the next digest, computed from the local time and the IANA
    zone (domain.schedule); NULL when none is scheduled (unsubscribed, paused, not set up yet).
    The scheduler tick reads only rows whose instant has come, through its index.
    """

    __tablename__ = "subscriptions"

    chat_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    digest_minute: Mapped[int | None] = mapped_column(Integer)  # local minutes after midnight
    timezone: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer, default=5)
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    breaking: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_note: Mapped[bool] = mapped_column(Boolean, default=True)
    follow: Mapped[list[Any]] = mapped_column(default=list)
    mute: Mapped[list[Any]] = mapped_column(default=list)
    # [[thread id, rank when sent], ...] per digest, newest first (domain.digest.RECENT_DIGESTS).
    recent: Mapped[list[Any]] = mapped_column(default=list)
    next_due_at: Mapped[datetime | None]
    last_digest_on: Mapped[date | None] = mapped_column(Date)  # local day of the last digest
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    # (next_due_at, chat_id): the tick reads due rows in this order, page by page, straight off the index.
    __table_args__ = (Index("ix_subscriptions_next_due_at", "next_due_at", "chat_id"),)


class BreakingPush(Base):
    """A breaking card for one chat: the primary key makes "never the same thread twice" a fact.

    held → sent | dropped. `release_at` is when it may go out (the end of quiet hours);
    `local_day` the subscriber's local day it went out on (the daily cap counts them).
    """

    __tablename__ = "breaking_pushes"

    chat_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    status: Mapped[str] = mapped_column(String(16), default="held")
    release_at: Mapped[datetime]
    local_day: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_breaking_pushes_release", "status", "release_at"),
        Index("ix_breaking_pushes_chat_day", "chat_id", "local_day"),
    )
