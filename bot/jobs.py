"""Scheduled jobs (PTB JobQueue on APScheduler). Jobs carry ids, never ORM objects."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.feeds import import_from
from storage.feed import FeedError

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


def schedule(app: BotApplication) -> None:
    settings = app.bot_data.settings
    queue = app.job_queue
    if queue is None:
        raise RuntimeError("the job queue is missing: install python-telegram-bot[job-queue]")
    if settings.story_feed_url and settings.story_feed_interval_min:
        queue.run_repeating(
            refresh_feed, interval=settings.story_feed_interval_min * 60, first=1, name="refresh_feed"
        )
