"""The delivery worker: claims outbox rows, sends them straight to the Bot API, records outcomes.

Why a long-running task (started in post_init, stopped in post_shutdown) rather than a JobQueue job:
pacing at 30/s means a decision every 33 ms and continuous control of the send schedule; a job
re-run every second would send in bursts, restart its pipeline each run and need an overlap guard.
The task sleeps on an event when the outbox is empty (polled once a second, woken at once by an
enqueue in this process) and on stop releases what it holds, so SIGTERM loses and duplicates nothing.

Why httpx directly, not PTB's Bot: PTB builds a Message object per answer and tops out near
1,000/s; here the body is a pre-serialised template with the chat id spliced in, answers are parsed
only for what decides the row's fate, and requests are spread over several connection pools.

Pipeline (a fixed number of coroutines, never one task per recipient):
  claim loop ─→ queue ─→ N senders (pacer slot, per-chat spacing, POST) ─→ results ─→ flusher
and a monitor that edits each campaign's progress message and closes finished campaigns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import secrets
import socket
import time
from collections import deque
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain import render
from domain.delivery import (
    BLOCKED,
    FAILED,
    RETRY,
    SENT,
    ChatSpacing,
    Outcome,
    Pacer,
    RequestTemplate,
    classify_response,
    effective_rate,
    progress_from_counts,
    reply_markup,
    text_payload,
    transient,
)
from storage.models import Campaign
from storage.outbox import (
    Claimed,
    Result,
    active_campaigns,
    campaign_counts,
    cancelled_among,
    claim,
    claim_progress_edit,
    finish_campaign,
    release,
    release_expired,
    write_results,
)

log = logging.getLogger(__name__)

EXPIRED = Outcome("expired")  # a claimed row whose lease ran out before its turn: not sent, not written

DEFAULT_API = "https://api.telegram.org/bot"


class BotApi:
    """Raw Bot API calls over several httpx clients (shards): one pool's lock and bookkeeping stop
    scaling well past a few dozen concurrent requests."""

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        *,
        shards: int = 16,
        connections_per_shard: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 20.0,
    ) -> None:
        base = (base_url or DEFAULT_API).rstrip("/")
        self._prefix = base.replace("{token}", token) if "{token}" in base else base + token
        limits = httpx.Limits(
            max_connections=connections_per_shard, max_keepalive_connections=connections_per_shard
        )
        self._clients = [
            httpx.AsyncClient(
                timeout=httpx.Timeout(timeout, connect=10.0),
                limits=limits,
                transport=transport,
                headers={"content-type": "application/json"},
            )
            for _ in range(shards)
        ]
        self._next = 0

    @property
    def shards(self) -> int:
        return len(self._clients)

    async def call(self, method: str, body: bytes, *, shard: int | None = None) -> tuple[int, Any]:
        """(HTTP status, parsed JSON or None). Network errors raise httpx.HTTPError.

        A sender that always passes its own `shard` keeps to one small pool: httpcore scans every
        connection of a pool on each request, so many small pools cost far less CPU than one big one.
        """
        if shard is None:
            self._next = (self._next + 1) % len(self._clients)
            shard = self._next
        response = await self._clients[shard % len(self._clients)].post(
            f"{self._prefix}/{method}", content=body
        )
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        return response.status_code, data

    async def call_json(self, method: str, body: dict[str, Any]) -> tuple[int, Any]:
        return await self.call(method, json.dumps(body, ensure_ascii=False).encode())

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


def worker_name() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"


class DeliveryWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        api: BotApi,
        *,
        rate: float,
        lease: float = 30.0,
        name: str | None = None,
        idle_poll: float = 1.0,
        flush_interval: float = 0.1,
        progress_interval: float = 3.0,
        concurrency: int | None = None,
        batch: int | None = None,
    ) -> None:
        self.sessions = sessions
        self.api = api
        self.name = name or worker_name()
        pace, self.paid = effective_rate(rate)
        # A burst of 10 ms worth of sends: at 30/s that is 1 (even spacing); at high rates it spares
        # the event loop a timer per message (epoll sleeps in whole milliseconds, so sub-millisecond
        # timers would cap the engine near 1,000/s by themselves).
        self.pacer = Pacer(pace, burst=max(1.0, pace * 0.01), now=time.monotonic())
        self.spacing = ChatSpacing()
        self.lease = lease
        self.idle_poll = idle_poll
        self.flush_interval = flush_interval
        self.progress_interval = progress_interval
        # Enough senders to keep the pace with a slow (≈1 s) answer; enough rows claimed for ≈2 s.
        self.concurrency = concurrency or max(8, min(64, math.ceil(pace)))
        # ...but never more than a quarter of the lease's worth, so rows are sent long before it ends.
        self.batch = batch or max(10, min(1000, math.ceil(pace * 2), math.ceil(pace * lease / 4)))
        self._queue: asyncio.Queue[Claimed | None] = asyncio.Queue()
        self._results: list[Result] = []
        self._releases: list[int] = []
        self._releases_at: list[tuple[int, float]] = []  # given back, due again at a later time
        self._expired: list[Claimed] = []  # lease ran out before their turn
        self._templates: dict[int, RequestTemplate] = {}
        self._cancelled: set[int] = set()
        self._db = asyncio.Lock()  # one writer per process: SQLite has one anyway
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._snapshots: dict[int, deque[tuple[float, int]]] = {}
        self.sent_total = 0
        self.expired = 0
        self.answered_429 = 0

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="delivery")

    def wake(self) -> None:
        """A campaign was queued or cancelled: look now instead of at the next poll."""
        self._wake.set()

    def cancelled(self, campaign_id: int) -> None:
        """Drop this campaign's rows that are claimed here but not yet sent."""
        self._cancelled.add(campaign_id)

    async def stop(self, grace: float = 15.0) -> None:
        """Finish sends in flight, give back claimed rows not yet sent, write every outcome."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            log.warning("delivery: in-flight sends did not finish in %ss; their leases will expire", grace)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        except Exception:
            # Shutdown goes on (the engine and HTTP clients still get closed); leases expire.
            log.exception("delivery: the worker failed while stopping")
        self._task = None

    # --- main loop ------------------------------------------------------------------------

    async def run(self) -> None:
        senders = [asyncio.create_task(self._sender(i)) for i in range(self.concurrency)]
        flusher = asyncio.create_task(self._flusher())
        monitor = asyncio.create_task(self._monitor())
        try:
            while not self._stopping:
                got = 0
                if self._queue.qsize() < self.batch // 2 and not self.pacer.paused(time.monotonic()):
                    try:
                        got = await self._claim()
                    except Exception:
                        log.exception("delivery: claim failed; retrying")
                        await asyncio.sleep(1.0)
                if got and self._queue.qsize() < self.batch // 2:
                    continue  # more may be due right away
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    # Busy: look again when the queue has drained to half a batch. Idle: poll.
                    wait = (
                        self.idle_poll if not got else min(self.idle_poll, self.batch / 2 / self.pacer_rate)
                    )
                    await asyncio.wait_for(self._wake.wait(), wait)
        finally:
            self._stopping = True
            # Rows still queued were never started: give them back now.
            while not self._queue.empty():
                row = self._queue.get_nowait()
                if row is not None:
                    self._releases.append(row.id)
            for _ in senders:
                self._queue.put_nowait(None)
            await asyncio.gather(*senders, return_exceptions=True)
            monitor.cancel()
            await asyncio.gather(monitor, return_exceptions=True)
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            await self._flush(final=True)

    @property
    def pacer_rate(self) -> float:
        return 1.0 / self.pacer.interval

    async def _claim(self) -> int:
        async with self._db, self.sessions() as session:
            rows = await claim(session, self.name, limit=self.batch, lease=self.lease)
            await session.commit()
            if rows:
                # Campaigns stopped from another process: drop their rows still queued here.
                self._cancelled |= await cancelled_among(
                    session, {r.campaign_id for r in rows} | set(self._templates)
                )
            new = {r.campaign_id for r in rows} - self._templates.keys()
            if new:
                for campaign_id, payload in await session.execute(
                    select(Campaign.id, Campaign.payload).where(Campaign.id.in_(new))
                ):
                    self._templates[campaign_id] = RequestTemplate(payload, paid=self.paid)
        for row in rows:
            self._queue.put_nowait(row)
        return len(rows)

    # --- sending --------------------------------------------------------------------------

    async def _sender(self, index: int) -> None:
        while True:
            row = await self._queue.get()
            if row is None:
                return
            if row.campaign_id in self._cancelled:
                continue  # already marked cancelled in the database
            try:
                outcome = await self._send(row, index)
            except Exception as exc:  # a bug must not lose the row: record why it failed
                log.exception("delivery: unexpected error sending row %s", row.id)
                outcome = transient(f"internal error: {exc!r}", attempts=row.attempts)
            if outcome is None:
                self._releases.append(row.id)
                continue
            if outcome is EXPIRED:
                self._expired.append(row)
                continue
            self._record(row, outcome)
            if len(self._results) >= 500:
                self._wake.set()

    async def _send(self, row: Claimed, shard: int) -> Outcome | None:
        """Wait for the chat's and the global slot, then send. None: stopped before sending."""
        delay = self.spacing.reserve(row.chat_id, time.monotonic())
        if delay > 0:
            await asyncio.sleep(delay)
        while True:
            delay = self.pacer.reserve(time.monotonic())
            if delay > 0:
                await asyncio.sleep(delay)
            if self._stopping:
                return None
            if self.pacer.paused(time.monotonic()):
                continue  # a 429 arrived while we waited: take a slot after the pause instead
            # This second full (senders woke late together)? Wait for room, keeping our turn.
            for _ in range(100):
                wait = self.pacer.admit(time.monotonic())
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            if not self._stopping and not self.pacer.paused(time.monotonic()):
                break
        if time.time() > row.lease_until - self.lease / 4:
            # Our claim is (nearly) over: the row is due again and may be claimed anew, by another
            # worker or by us. Sending now could duplicate it; leave it to whoever claims it next.
            self.expired += 1
            return EXPIRED
        if row.payload is not None:
            template = RequestTemplate(row.payload, paid=self.paid)
        else:
            template = self._templates[row.campaign_id]
        try:
            status, body = await self.api.call(template.method, template.body(row.chat_id), shard=shard)
        except httpx.HTTPError as exc:
            return transient(f"network: {type(exc).__name__}: {exc}".strip(": "), attempts=row.attempts)
        outcome = classify_response(status, body, attempts=row.attempts)
        if outcome.pause_all:
            self.answered_429 += 1
            self._pause(outcome.pause_all)
        return outcome

    def _pause(self, seconds: float) -> None:
        now = time.monotonic()
        self.pacer.pause(now, seconds)
        log.warning("delivery: 429 from Telegram, pausing all sends for %.1fs", seconds)
        if seconds >= self.lease / 3:
            # A long pause would outlive our leases: give the queued rows back, due after the pause.
            while not self._queue.empty():
                row = self._queue.get_nowait()
                if row is None:
                    self._queue.put_nowait(None)
                    break
                self._releases_at.append((row.id, time.time() + seconds))

    def _record(self, row: Claimed, outcome: Outcome) -> None:
        wall = time.time()
        if outcome.kind == SENT:
            self.sent_total += 1
            self._results.append(Result(row.id, row.chat_id, "sent", message_id=outcome.message_id, at=wall))
        elif outcome.kind in (BLOCKED, FAILED):
            self._results.append(Result(row.id, row.chat_id, outcome.kind, error=outcome.error))
        elif outcome.kind == RETRY:
            self._results.append(
                Result(row.id, row.chat_id, "pending", error=outcome.error, at=wall + outcome.retry_after)
            )

    # --- writing outcomes -----------------------------------------------------------------

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self._flush()
            except Exception:
                log.exception("delivery: writing outcomes failed; keeping them for the next flush")

    async def _flush(self, final: bool = False) -> None:
        results, self._results = self._results, []
        releases, self._releases = self._releases, []
        later, self._releases_at = self._releases_at, []
        expired, self._expired = self._expired, []
        if not (results or releases or later or expired):
            return
        try:
            async with self._db, self.sessions() as session:
                await write_results(session, self.name, results)
                await release(session, self.name, releases, at=time.time())
                for row_id, at in later:
                    await release(session, self.name, [row_id], at=at)
                await release_expired(session, self.name, expired)
                await session.commit()
        except BaseException:
            # Keep them: the next flush tries again (the leases outlive a short database hiccup).
            self._results[:0] = results
            self._releases[:0] = releases
            self._releases_at[:0] = later
            self._expired[:0] = expired
            if final:
                log.error("delivery: could not write %d outcomes at shutdown", len(results))
            raise

    # --- progress -------------------------------------------------------------------------

    async def _monitor(self) -> None:
        while True:
            await asyncio.sleep(self.progress_interval)
            try:
                await self.report_progress()
            except Exception:
                log.exception("delivery: progress update failed")

    async def report_progress(self) -> None:
        """Edit each active campaign's progress message; close and report finished campaigns."""
        async with self.sessions() as session:
            campaigns = [
                (c.id, c.total, c.progress_chat_id, c.progress_message_id)
                for c in await active_campaigns(session)
            ]
        now = time.time()
        for campaign_id, total, chat_id, message_id in campaigns:
            async with self._db, self.sessions() as session:
                counts = await campaign_counts(session, campaign_id)
                progress = progress_from_counts(total, counts)
                finished = progress.pending == 0 and await finish_campaign(session, campaign_id)
                rate = self._rate(campaign_id, now, progress.done)
                if finished:
                    reply = render.broadcast_progress(campaign_id, progress, rate=None, final=True)
                else:
                    reply = render.broadcast_progress(campaign_id, progress, rate=rate, final=False)
                edit = chat_id is not None and await claim_progress_edit(
                    session,
                    campaign_id,
                    reply.html,
                    now=now,
                    min_interval=0 if finished else self.progress_interval,
                )
                await session.commit()
            if finished:
                self._snapshots.pop(campaign_id, None)
                self._templates.pop(campaign_id, None)
                log.info("delivery: campaign %s finished: %s", campaign_id, progress)
            if edit and chat_id is not None and message_id is not None:
                await self._edit(chat_id, message_id, reply)
            if finished and chat_id is not None:
                await self._send_reply(chat_id, render.broadcast_report(campaign_id, progress))

    def _rate(self, campaign_id: int, now: float, done: int) -> float | None:
        snaps = self._snapshots.setdefault(campaign_id, deque(maxlen=8))
        snaps.append((now, done))
        first_t, first_done = snaps[0]
        if now - first_t < 1.0:
            return None
        return (done - first_done) / (now - first_t)

    async def _edit(self, chat_id: int, message_id: int, reply: render.Reply) -> None:
        body: dict[str, Any] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": reply.html,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        body["reply_markup"] = _markup(reply) or {"inline_keyboard": []}
        await self._admin_call("editMessageText", body)

    async def _send_reply(self, chat_id: int, reply: render.Reply) -> None:
        body: dict[str, Any] = {"chat_id": chat_id, "text": reply.html, "parse_mode": "HTML"}
        markup = _markup(reply)
        if markup:
            body["reply_markup"] = markup
        await self._admin_call("sendMessage", body)

    async def _admin_call(self, method: str, body: dict[str, Any], attempts: int = 5) -> None:
        """A message or edit for the admin: paced like the campaign (it counts toward the same
        limits, and the admin's chat is usually a recipient too), retried on 429 and transient errors."""
        chat_id = int(body["chat_id"])
        for attempt in range(1, attempts + 1):
            delay = max(self.spacing.reserve(chat_id, time.monotonic()), self.pacer.reserve(time.monotonic()))
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                status, answer = await self.api.call_json(method, body)
            except httpx.HTTPError as exc:
                log.warning("delivery: %s to the admin failed: %s", method, exc)
                await asyncio.sleep(attempt)
                continue
            outcome = classify_response(status, answer, attempts=attempt)
            if outcome.kind == SENT:
                return
            if outcome.kind != RETRY:
                log.warning("delivery: %s to the admin refused: %s", method, outcome.error)
                return
            await asyncio.sleep(outcome.retry_after if outcome.pause_all else attempt)
        log.warning("delivery: gave up on %s to the admin after %d attempts", method, attempts)


def _markup(reply: render.Reply) -> dict[str, Any] | None:
    return reply_markup(text_payload(reply)["buttons"])
