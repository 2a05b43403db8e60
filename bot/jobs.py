"""Scheduled jobs (PTB JobQueue on APScheduler). Jobs carry ids, never ORM objects."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.feeds import import_from
from storage.feed import FeedError
from storage.outbox import prune
from storage.subscriptions import detect_breaking, enqueue_due_digests, release_breaking

if TYPE_CHECKING:
    from bot.context import BotApplication, BotContext

log = logging.getLogger(__name__)


async def refresh_feed(context: BotContext) -> None:
    services = context.services
    url = services.settings.story_feed_url
    if not url:
        return
    try:
        await import_from(services.sessions, url, client=services.http)
    except FeedError as exc:
        # A broken feed changes nothing; the stored stories keep being served.
        log.error("feed refresh failed, stored stories unchanged: %s", exc)
        return
    # Breaking cards at once rather than at the next tick (the tick would find the feed too).
    await scheduler_tick(context)


async def scheduler_tick(context: BotContext) -> None:
    """Every DIGEST_TICK_SECONDS: breaking cards of a new feed (whoever imported it), held breaking
    cards whose quiet hours ended, and the digests whose time has come. Three transactions: a
    failure in one does not hold up the others."""
    services = context.services
    if services.tick_lock is None:
        services.tick_lock = asyncio.Lock()
    async with services.tick_lock:
        await _tick(context)


async def _tick(context: BotContext) -> None:
    services = context.services
    settings = services.settings
    now = services.clock()
    queued = False
    async with services.sessions() as session:
        found = await detect_breaking(session, now=now, virality_jump=settings.breaking_virality_jump)
        await session.commit()
    if found:
        log.info("breaking cards: %d held for subscribers", found)
    async with services.sessions() as session:
        breaking = await release_breaking(session, now=now, daily_cap=settings.breaking_daily_cap)
        await session.commit()
    if breaking.sent or breaking.dropped:
        queued = queued or bool(breaking.sent)
        log.info("breaking cards: %d queued, %d dropped", breaking.sent, breaking.dropped)
    async with services.sessions() as session:
        report = await enqueue_due_digests(
            session, now=now, grace=timedelta(hours=settings.digest_grace_hours)
        )
        await session.commit()
    if report.queued or report.skipped or report.empty:
        queued = queued or bool(report.queued)
        log.info(
            "digests: %d queued, %d with nothing new, %d skipped", report.queued, report.empty, report.skipped
        )
    delivery = getattr(services, "delivery", None)
    if queued and delivery is not None:
        delivery.wake()


async def prune_outbox(context: BotContext) -> None:
    """Hourly: the outbox rows of campaigns finished more than OUTBOX_KEEP_DAYS ago (counts are kept)."""
    services = context.services
    days = services.settings.outbox_keep_days
    if not days:
        return
    cutoff = services.clock() - timedelta(days=days)
    deleted = 0
    for _ in range(100):  # a bounded amount of work per run; the rest waits for the next hour
        async with services.sessions() as session:
            removed = await prune(session, finished_before=cutoff)
            await session.commit()
        deleted += removed
        if not removed:
            break
    if deleted:
        log.info("outbox: %d rows of finished campaigns pruned", deleted)


def schedule(app: BotApplication) -> None:
    settings = app.bot_data.settings
    queue = app.job_queue
    if queue is None:
        raise RuntimeError("the job queue is missing: install python-telegram-bot[job-queue]")
    if settings.story_feed_url and settings.story_feed_interval_min:
        queue.run_repeating(
            refresh_feed, interval=settings.story_feed_interval_min * 60, first=1, name="refresh_feed"
        )
    # Only where something can be delivered (the console has no Telegram).
    if settings.telegram_bot_token:
        queue.run_repeating(
            scheduler_tick, interval=settings.digest_tick_seconds, first=1, name="scheduler_tick"
        )
        queue.run_repeating(prune_outbox, interval=3600, first=60, name="prune_outbox")
