"""Delivery rules as plain functions: what a payload sends, what a Bot API answer means, and pacing.

Nothing here does I/O or reads the clock: times are passed in, so every rule is unit-tested.
"""

from __future__ import annotations

import json
import math
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from domain.render import Button, Reply

# --- payloads ---------------------------------------------------------------------------------
# A payload is a JSON-able dict stored on the campaign (or on one outbox row):
#   {"type": "text", "html": "...", "buttons": [[{"text": .., "data": ..} | {"text": .., "url": ..}]]}
#   {"type": "copy", "from_chat_id": 1, "message_id": 2}          (a photo with caption, any message)


def text_payload(reply: Reply) -> dict[str, Any]:
    """A rendered reply (domain.render) as a payload."""
    return {
        "type": "text",
        "html": reply.html,
        "buttons": [
            [{"text": b.text, "url": b.url} if b.url else {"text": b.text, "data": b.data} for b in row]
            for row in reply.buttons
        ],
    }


def copy_payload(from_chat_id: int, message_id: int) -> dict[str, Any]:
    return {"type": "copy", "from_chat_id": from_chat_id, "message_id": message_id}


def payload_reply(payload: dict[str, Any]) -> Reply:
    """The reply a text payload sends (the preview shows exactly this)."""
    rows = tuple(
        tuple(Button(b["text"], data=b.get("data"), url=b.get("url")) for b in row)
        for row in payload.get("buttons") or []
    )
    return Reply(str(payload.get("html", "")), rows)


def reply_markup(buttons: list[list[dict[str, Any]]] | None) -> dict[str, Any] | None:
    if not buttons:
        return None
    return {
        "inline_keyboard": [
            [
                {"text": b["text"], "url": b["url"]}
                if b.get("url")
                else {"text": b["text"], "callback_data": b["data"]}
                for b in row
            ]
            for row in buttons
        ]
    }


def api_request(payload: dict[str, Any], *, paid: bool = False) -> tuple[str, dict[str, Any]]:
    """(Bot API method, JSON body without chat_id) for a payload."""
    body: dict[str, Any]
    if payload.get("type") == "copy":
        method = "copyMessage"
        body = {"from_chat_id": payload["from_chat_id"], "message_id": payload["message_id"]}
    elif payload.get("type") == "text":
        method = "sendMessage"
        body = {"text": payload["html"], "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}}
    else:
        raise ValueError(f"unknown payload type {payload.get('type')!r}")
    markup = reply_markup(payload.get("buttons"))
    if markup:
        body["reply_markup"] = markup
    if paid:
        body["allow_paid_broadcast"] = True
    return method, body


class RequestTemplate:
    """A payload serialised once: each send only splices the chat id in front (no json.dumps per send)."""

    def __init__(self, payload: dict[str, Any], *, paid: bool = False) -> None:
        self.method, body = api_request(payload, paid=paid)
        self._tail = json.dumps(body, ensure_ascii=False, separators=(",", ":"))[1:].encode()

    def body(self, chat_id: int) -> bytes:
        return b'{"chat_id":' + str(chat_id).encode() + b"," + self._tail


# --- what an answer means ---------------------------------------------------------------------

SENT, RETRY, BLOCKED, FAILED = "sent", "retry", "blocked", "failed"
MAX_ATTEMPTS = 5  # network errors and 5xx: attempts (claims) before the row fails with its reason
MAX_ATTEMPTS_429 = 20  # rate-limit answers are Telegram asking us to wait, not failures: allow more


@dataclass(frozen=True)
class Outcome:
    kind: str  # SENT, RETRY, BLOCKED or FAILED
    message_id: int | None = None
    error: str | None = None
    retry_after: float = 0.0  # RETRY: seconds before this row may be sent again
    pause_all: float = 0.0  # a 429: seconds during which nothing is sent at all


def backoff(
    attempts: int, *, base: float = 2.0, cap: float = 300.0, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter, so retries of many rows don't land in one burst."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay * (0.75 + 0.5 * (rng or random).random())


def _description(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("description") or "")
    return ""


def classify_response(status: int, body: Any, *, attempts: int) -> Outcome:
    """A Bot API answer (HTTP status, parsed JSON or None) for a row on its `attempts`-th try."""
    description = _description(body)
    if status == 200 and isinstance(body, dict) and body.get("ok"):
        result = body.get("result")
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return Outcome(SENT, message_id=message_id if isinstance(message_id, int) else None)
    if status == 429:
        params = body.get("parameters") if isinstance(body, dict) else None
        after = params.get("retry_after") if isinstance(params, dict) else None
        wait = float(after) if isinstance(after, int | float) and after > 0 else 1.0
        reason = f"429 {description or 'Too Many Requests'}"
        if attempts >= MAX_ATTEMPTS_429:
            return Outcome(FAILED, error=f"gave up after {attempts} attempts: {reason}")
        return Outcome(RETRY, error=reason, retry_after=wait, pause_all=wait)
    if status == 403:
        # Blocked, deactivated, kicked: the chat is gone for us. Never retried.
        return Outcome(BLOCKED, error=f"403 {description or 'Forbidden'}")
    if status == 400:
        lowered = description.lower()
        if "chat not found" in lowered or "user not found" in lowered or "peer_id_invalid" in lowered:
            return Outcome(BLOCKED, error=f"400 {description}")
        return Outcome(FAILED, error=f"400 {description or 'Bad Request'}")
    return transient(f"{status} {description or 'unexpected answer'}", attempts=attempts)


def transient(reason: str, *, attempts: int) -> Outcome:
    """A network error, a 5xx or anything unexpected: retry with backoff, then fail with the reason."""
    if attempts >= MAX_ATTEMPTS:
        return Outcome(FAILED, error=f"gave up after {attempts} attempts: {reason}")
    return Outcome(RETRY, error=reason, retry_after=backoff(attempts))


# --- pacing -----------------------------------------------------------------------------------

TELEGRAM_FREE_RATE = 30.0  # messages per second without paid broadcasts
PAID_MAX_RATE = 1000.0
PRIVATE_CHAT_INTERVAL = 1.0  # ≤ 1 message per second to one private chat
GROUP_CHAT_INTERVAL = 3.0  # ≤ 20 messages per minute to one group


def effective_rate(setting: float) -> tuple[float, bool]:
    """(messages per second to pace at, whether to send as a paid broadcast).

    Above Telegram's free 30/s the sends carry allow_paid_broadcast (paid broadcasts go up to
    PAID_MAX_RATE). The setting is not clamped: it is the operator's word (and benches run past it).
    We pace a little under it: the limit is counted where Telegram receives the messages, and network
    jitter bunches evenly spaced sends. 3 % headroom keeps 429s rare.
    """
    return setting * 0.97, setting > TELEGRAM_FREE_RATE


class Pacer:
    """Hands out send times spaced evenly at `rate` per second (a token bucket of `burst` tokens).

    Spacing rather than per-second budgets: a burst of 30 at the top of each second is exactly what
    makes a receiver counting in sliding windows answer 429.
    """

    def __init__(self, rate: float, *, burst: float = 1.0, now: float = 0.0) -> None:
        self.interval = 1.0 / rate
        self.burst = burst
        self.next_at = now
        self.paused_until = 0.0
        # The second line of defence: never more than `window_cap` sends in any one second, counted
        # when they actually go out. Senders that wake late together (an event-loop stall) would
        # otherwise send their slots as one burst.
        self.window_cap = max(1, math.floor(rate))
        self._sent: deque[float] = deque()

    def reserve(self, now: float) -> float:
        """Take the next slot; returns how long to wait before sending (0 = now)."""
        start = max(self.next_at, now - (self.burst - 1) * self.interval, self.paused_until)
        self.next_at = start + self.interval
        return max(0.0, start - now)

    def admit(self, now: float) -> float:
        """Just before a send: 0 and counted if this second has room, else how long to wait."""
        sent = self._sent
        while sent and sent[0] <= now - 1.0:
            sent.popleft()
        if len(sent) >= self.window_cap:
            return sent[0] + 1.0 - now + 1e-4
        sent.append(now)
        return 0.0

    def pause(self, now: float, seconds: float) -> None:
        """A 429: nothing goes out before now + seconds; the schedule resumes evenly after that."""
        self.paused_until = max(self.paused_until, now + seconds)
        self.next_at = max(self.next_at, self.paused_until)

    def paused(self, now: float) -> bool:
        return now < self.paused_until


@dataclass
class ChatSpacing:
    """Per-chat limits: ≤ 1/s to a private chat, ≤ 20/min to a group (negative ids are groups)."""

    next_at: dict[int, float] = field(default_factory=dict)

    @staticmethod
    def interval(chat_id: int) -> float:
        return GROUP_CHAT_INTERVAL if chat_id < 0 else PRIVATE_CHAT_INTERVAL

    def reserve(self, chat_id: int, now: float) -> float:
        start = max(now, self.next_at.get(chat_id, 0.0))
        self.next_at[chat_id] = start + self.interval(chat_id)
        if len(self.next_at) > 10_000:
            self.prune(now)
        return start - now

    def prune(self, now: float) -> None:
        """Forget chats whose spacing has passed: memory stays flat over a 100k campaign."""
        self.next_at = {c: t for c, t in self.next_at.items() if t > now}


# --- progress ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    failed: int
    blocked: int
    cancelled: int
    pending: int

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.blocked + self.cancelled


def progress_from_counts(total: int, counts: dict[str, int]) -> Progress:
    return Progress(
        total=total,
        sent=counts.get("sent", 0),
        failed=counts.get("failed", 0),
        blocked=counts.get("blocked", 0),
        cancelled=counts.get("cancelled", 0),
        pending=counts.get("pending", 0),
    )
