"""The delivery rules on their own: pacing, per-chat spacing, what each Bot API answer means."""

from __future__ import annotations

import json
import random

import pytest

from domain.delivery import (
    BLOCKED,
    FAILED,
    MAX_ATTEMPTS,
    MAX_ATTEMPTS_429,
    RETRY,
    SENT,
    ChatSpacing,
    Pacer,
    RequestTemplate,
    backoff,
    classify_response,
    copy_payload,
    effective_rate,
    payload_reply,
    text_payload,
    transient,
)
from domain.render import Button, Reply


def test_pacer_spaces_sends_evenly_and_never_bursts() -> None:
    pacer = Pacer(10.0, now=100.0)
    # 25 senders ask at the same instant: they get slots 0.1 s apart, not 10 at once.
    delays = [pacer.reserve(100.0) for _ in range(25)]
    assert delays == pytest.approx([i * 0.1 for i in range(25)])


def test_pacer_holds_the_rate_over_a_simulated_minute() -> None:
    rate, _paid = effective_rate(30)  # with its headroom: exactly 30.0 would put 31 in [t, t+1]
    pacer, now, sent = Pacer(rate, now=0.0), 0.0, []
    while now < 60.0:
        delay = pacer.reserve(now)
        now += delay
        sent.append(now)
        now += random.Random(len(sent)).random() * 0.01  # senders come back a little late
    # No sliding one-second window holds more than 30.
    j = 0
    for i, t in enumerate(sent):
        while sent[j] <= t - 1.0:
            j += 1
        assert i - j + 1 <= 30
    assert len(sent) >= 0.95 * 30 * 60


def test_an_idle_pacer_does_not_save_up_a_burst() -> None:
    pacer = Pacer(10.0, now=0.0)
    assert pacer.reserve(50.0) == 0.0
    assert pacer.reserve(50.0) == pytest.approx(0.1)


def test_pause_holds_every_slot_until_retry_after() -> None:
    pacer = Pacer(10.0, now=0.0)
    pacer.reserve(0.0)
    pacer.pause(0.0, 3.0)
    assert pacer.paused(1.0) and not pacer.paused(3.0)
    assert pacer.reserve(1.0) == pytest.approx(2.0)
    assert pacer.reserve(1.0) == pytest.approx(2.1)


def test_admit_caps_any_one_second_window_even_after_a_stall() -> None:
    pacer = Pacer(29.1, now=0.0)
    # 40 senders whose slots all passed during a stall wake at once: 29 go, the rest wait.
    waits = [pacer.admit(5.0) for _ in range(40)]
    assert waits.count(0.0) == 29 and all(w == pytest.approx(1.0, abs=0.01) for w in waits if w)
    assert pacer.admit(6.001) == 0.0


def test_chat_spacing_private_one_per_second_groups_twenty_per_minute() -> None:
    spacing = ChatSpacing()
    assert spacing.reserve(42, 0.0) == 0.0
    assert spacing.reserve(42, 0.2) == pytest.approx(0.8)
    assert spacing.reserve(7, 0.2) == 0.0  # other chats are not held up
    assert spacing.reserve(-100123, 0.0) == 0.0
    assert spacing.reserve(-100123, 0.0) == pytest.approx(3.0)
    spacing.prune(10.0)
    assert spacing.next_at == {}


def test_effective_rate_paid_above_thirty() -> None:
    assert effective_rate(30) == (pytest.approx(29.1), False)
    rate, paid = effective_rate(500)
    assert paid and rate == pytest.approx(485)
    assert effective_rate(5000)[0] == pytest.approx(4850)  # the operator's setting is not clamped


def test_success_keeps_the_message_id() -> None:
    out = classify_response(200, {"ok": True, "result": {"message_id": 77}}, attempts=1)
    assert out.kind == SENT and out.message_id == 77


def test_429_retries_after_retry_after_and_pauses_everything() -> None:
    body = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    out = classify_response(429, body, attempts=3)
    assert out.kind == RETRY and out.retry_after == 7 and out.pause_all == 7
    assert classify_response(429, body, attempts=MAX_ATTEMPTS_429).kind == FAILED


@pytest.mark.parametrize(
    "description",
    [
        "Forbidden: bot was blocked by the user",
        "Forbidden: user is deactivated",
        "Forbidden: bot was kicked from the group chat",
    ],
)
def test_403_marks_blocked_and_is_never_retried(description: str) -> None:
    out = classify_response(403, {"ok": False, "error_code": 403, "description": description}, attempts=1)
    assert out.kind == BLOCKED and description in (out.error or "")


def test_chat_not_found_is_blocked_other_400_fails_with_reason() -> None:
    gone = classify_response(400, {"ok": False, "description": "Bad Request: chat not found"}, attempts=1)
    assert gone.kind == BLOCKED
    bad = classify_response(
        400, {"ok": False, "description": "Bad Request: can't parse entities"}, attempts=1
    )
    assert bad.kind == FAILED and "can't parse entities" in (bad.error or "")


def test_5xx_and_network_errors_back_off_then_fail_with_the_reason() -> None:
    first = classify_response(502, None, attempts=1)
    assert first.kind == RETRY and first.retry_after > 0 and not first.pause_all
    last = classify_response(
        500, {"ok": False, "description": "Internal Server Error"}, attempts=MAX_ATTEMPTS
    )
    assert last.kind == FAILED and "Internal Server Error" in (last.error or "")
    net = transient("network: ConnectError", attempts=MAX_ATTEMPTS)
    assert net.kind == FAILED and "ConnectError" in (net.error or "")


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(1)
    delays = [backoff(n, rng=rng) for n in range(1, 12)]
    assert delays[0] < delays[3] < delays[6]
    assert max(delays) <= 300 * 1.25


def test_templates_give_the_bot_api_body_with_the_chat_id() -> None:
    reply = Reply("<b>Hi</b> & bye", ((Button("Go", url="https://example.org"), Button("More", data="c:1")),))
    payload = text_payload(reply)
    assert payload_reply(payload) == reply
    body = json.loads(RequestTemplate(payload, paid=True).body(-100123))
    assert body["chat_id"] == -100123 and body["text"] == "<b>Hi</b> & bye" and body["parse_mode"] == "HTML"
    assert body["allow_paid_broadcast"] is True
    assert body["reply_markup"]["inline_keyboard"][0][1] == {"text": "More", "callback_data": "c:1"}
    copy = RequestTemplate(copy_payload(5, 9))
    assert copy.method == "copyMessage"
    assert json.loads(copy.body(1)) == {"chat_id": 1, "from_chat_id": 5, "message_id": 9}
