"""End to end: an admin broadcast through the real `storybot run` process and the fake Bot API,
with blocked subscribers, 429s, a kill -9 in the middle and a restart."""

from __future__ import annotations

import re
import sqlite3
import time
from collections import Counter
from pathlib import Path

from tests.bot_process import BotProcess, storybot, storybot_env
from tests.fake_telegram import FakeTelegram

ADMIN = 5001
SUBSCRIBERS = list(range(910_001, 910_241))  # 240
BLOCKED = SUBSCRIBERS[::12]  # 20 have blocked the bot: 403
LIMITED = SUBSCRIBERS[5::24]  # 10 are answered 429 once
TEXT = "Big news: storybot & friends <3"


def add_subscribers(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO chats (id, type, started_at, last_seen_at) VALUES (?, 'private', "
            "'2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')",
            [(c,) for c in SUBSCRIBERS],
        )


def broadcast_copies(fake: FakeTelegram) -> Counter[int]:
    return Counter(r["chat_id"] for r in fake.sent() if r["text"] == TEXT and r["chat_id"] != ADMIN)


def test_admin_broadcast_survives_a_kill_and_reaches_everyone_once(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    env = storybot_env(
        tmp_path,
        fake.base_url,
        fake.token,
        ADMIN_IDS=str(ADMIN),
        DELIVERY_RATE="30",
        DELIVERY_LEASE_SECONDS="5",
    )
    assert storybot("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    add_subscribers(tmp_path / "storybot.db")
    fake.set_rate_limit(global_per_sec=30, per_chat_per_sec=1, group_per_min=20)
    for chat in BLOCKED:
        fake.block(chat)
    for chat in LIMITED:
        fake.fail_next(chat, 1, code=429, retry_after=1)

    bot = BotProcess(env, tmp_path).start()
    try:
        # Not an admin: a polite refusal, nothing drafted.
        fake.user_sends(SUBSCRIBERS[1], f"/broadcast {TEXT}")
        fake.wait_for_message(SUBSCRIBERS[1], "only the bot's admins", timeout=30)

        fake.user_sends(ADMIN, f"/broadcast {TEXT}")
        preview = fake.wait_for_message(ADMIN, TEXT)
        question = fake.wait_for_message(ADMIN, "Broadcast preview", after=preview["message_id"])
        assert "241 chats" in question["text"]  # 240 subscribers + the admin, blocked ones not yet known
        time.sleep(1.0)
        assert broadcast_copies(fake) == Counter(), "nothing is sent before Confirm"
        confirm = next(
            b["callback_data"]
            for row in question["reply_markup"]["inline_keyboard"]
            for b in row
            if "Confirm" in b["text"]
        )
        fake.user_presses(ADMIN, question["message_id"], confirm)
        fake.wait_for(lambda: len(broadcast_copies(fake)) >= 60, timeout=30, what="a quarter sent")
        killed_pid = bot.proc.pid if bot.proc else 0
        bot.kill()  # SIGKILL in the middle of the campaign
        at_kill = sum(broadcast_copies(fake).values())
        copies_at_kill = broadcast_copies(fake)
        with sqlite3.connect(tmp_path / "storybot.db") as conn:
            dead_held = {
                r[0]
                for r in conn.execute(
                    "SELECT chat_id FROM outbox WHERE status = 'pending' AND claimed_by LIKE ?",
                    (f"%:{killed_pid}:%",),
                )
            }
        assert at_kill < 200, "the kill came too late to test anything"

        bot = BotProcess(env, tmp_path).start()
        fake.wait_for(lambda: len(broadcast_copies(fake)) >= 120, timeout=30, what="half sent")
        # SIGTERM: sends in flight finish, their outcomes are written, the rest is given back.
        stopped_pid = bot.proc.pid if bot.proc else 0
        assert bot.stop() == 0, bot.log()
        copies = broadcast_copies(fake)
        with sqlite3.connect(tmp_path / "storybot.db") as conn:
            held = dict(
                conn.execute(
                    "SELECT chat_id, claimed_by FROM outbox WHERE status = 'pending' AND claimed_by IS NOT NULL"
                ).fetchall()
            )
            sent_rows = {r[0] for r in conn.execute("SELECT chat_id FROM outbox WHERE status = 'sent'")}
        assert not [c for c, by in held.items() if f":{stopped_pid}:" in by], "a stopped worker holds no rows"
        assert sent_rows <= set(copies)
        unrecorded = set(copies) - sent_rows - {ADMIN}
        # Only the killed process can have sent without recording: rows it held at the kill.
        assert unrecorded <= dead_held, unrecorded - dead_held

        bot = BotProcess(env, tmp_path).start()
        report = fake.wait_for_message(ADMIN, "finished", timeout=45, after=question["message_id"])
    finally:
        code = bot.stop()
    assert code == 0, bot.log()

    copies = broadcast_copies(fake)
    active = [c for c in SUBSCRIBERS if c not in BLOCKED]
    assert all(copies[c] >= 1 for c in active), [c for c in active if not copies[c]]
    assert not any(copies[c] for c in BLOCKED)
    # Duplicates only for what was in flight at the kill: rows the killed process held and had sent,
    # but whose outcome it had not yet written (outcomes are written every 0.1 s).
    duplicated = {c for c, n in copies.items() if n > 1}
    print(f"copies at the kill: {at_kill}; chats with a duplicate after the restart: {len(duplicated)}")
    assert duplicated <= dead_held & set(copies_at_kill), duplicated - (dead_held & set(copies_at_kill))
    assert all(copies[c] == 2 for c in duplicated)
    assert fake.stats.too_many_requests >= len(LIMITED)

    # The report adds up, and the blocked subscribers are marked.
    numbers = dict(re.findall(r"(sent|failed|blocked|cancelled|total) ([\d,]+)", report["text"].lower()))
    sent, failed, blocked, cancelled, total = (
        int(numbers[k].replace(",", "")) for k in ("sent", "failed", "blocked", "cancelled", "total")
    )
    assert (sent, failed, blocked, cancelled, total) == (221, 0, 20, 0, 241)
    with sqlite3.connect(tmp_path / "storybot.db") as conn:
        marked = {r[0] for r in conn.execute("SELECT id FROM chats WHERE blocked_at IS NOT NULL")}
        statuses = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
    assert marked == set(BLOCKED)
    assert statuses == {"sent": 221, "blocked": 20}
    # The admin's progress message became the final summary; every button press was answered.
    progress = fake.message(ADMIN, question["message_id"])
    assert progress is not None and "finished" in progress["text"]
    assert fake.unanswered_callbacks() == []
    assert fake.stats.errors.get(400, 0) == 0, "no 'message is not modified' or other refusals"
