"""Throughput of the fake Telegram server: sendMessage calls per second.

    python bench/fake_throughput.py                 # spawns `python -m tests.fake_telegram`
    python bench/fake_throughput.py --url http://127.0.0.1:8081/bot   # use a running fake
    python bench/fake_throughput.py -n 20000 -c 64 --client aiohttp|raw|ptb|all

The server runs in its own process (like in delivery benchmarks), the client here. ``aiohttp`` is
the lightest client and shows the server's capacity; ``raw`` posts the same form-encoded bodies
with httpx (PTB's HTTP stack); ``ptb`` goes through telegram.Bot. With 2 cores the client competes
with the server for CPU. Numbers are printed, nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import telegram
from telegram.request import HTTPXRequest

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAFakeTokenForStorybotTests_0123456789"
TEXT = "<b>Story of the day</b>\n" + "Lorem ipsum &amp; dolor sit amet, " * 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(base: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(f"{base}{TOKEN}/getMe", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


_MARKUP = json.dumps({"inline_keyboard": [[{"text": "More", "callback_data": "more:1"}]]})


def _message(i: int, chats: int) -> dict[str, str]:
    """The form fields of one sendMessage, as both HTTP clients post it."""
    return {"chat_id": str(1000 + i % chats), "text": TEXT, "parse_mode": "HTML", "reply_markup": _MARKUP}


async def bench_raw(base: str, n: int, concurrency: int, chats: int) -> float:
    url = f"{base}{TOKEN}/sendMessage"
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    counter = iter(range(n))
    errors = 0

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                data = _message(i, chats)
                r = await client.post(url, data=data)
                if r.status_code != 200:
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    if errors:
        print(f"  raw: {errors} non-200 responses")
    return n / elapsed


async def bench_aiohttp(base: str, n: int, concurrency: int, chats: int) -> float:
    import aiohttp

    url = f"{base}{TOKEN}/sendMessage"
    counter = iter(range(n))
    errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                data = _message(i, chats)
                async with session.post(url, data=data) as r:
                    await r.read()
                    if r.status != 200:
                        errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    if errors:
        print(f"  aiohttp: {errors} non-200 responses")
    return n / elapsed


async def bench_ptb(base: str, n: int, concurrency: int, chats: int) -> float:
    request = HTTPXRequest(connection_pool_size=concurrency, pool_timeout=30)
    markup = telegram.InlineKeyboardMarkup([[telegram.InlineKeyboardButton("More", callback_data="more:1")]])
    counter = iter(range(n))
    async with telegram.Bot(TOKEN, base_url=base, request=request) as bot:

        async def worker() -> None:
            for i in counter:
                await bot.send_message(1000 + i % chats, TEXT, parse_mode="HTML", reply_markup=markup)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="base_url of a running fake (default: spawn one)")
    parser.add_argument("-n", type=int, default=10000, help="messages per client run")
    parser.add_argument("-c", type=int, default=32, help="concurrent requests")
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--client", choices=["aiohttp", "raw", "ptb", "all"], default="all")
    args = parser.parse_args()

    proc: subprocess.Popen[bytes] | None = None
    base = args.url
    if base is None:
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_telegram", "--port", str(port)], cwd=ROOT, env=env
        )
        base = f"http://127.0.0.1:{port}/bot"
    try:
        _wait_up(base)
        print(f"fake at {base}, n={args.n}, concurrency={args.c}, chats={args.chats}, cpus={os.cpu_count()}")
        if args.client in ("aiohttp", "all"):
            asyncio.run(bench_aiohttp(base, min(args.n, 1000), args.c, args.chats))  # warm-up
            rate = asyncio.run(bench_aiohttp(base, args.n, args.c, args.chats))
            print(f"  aiohttp client sendMessage: {rate:8.0f} req/s  (server capacity)")
        if args.client in ("raw", "all"):
            rate = asyncio.run(bench_raw(base, args.n, args.c, args.chats))
            print(f"  httpx client sendMessage:   {rate:8.0f} req/s  (PTB's HTTP stack, raw)")
        if args.client in ("ptb", "all"):
            rate = asyncio.run(bench_ptb(base, args.n, args.c, args.chats))
            print(f"  PTB Bot.send_message:       {rate:8.0f} req/s")
        stats = httpx.get(base.removesuffix("/bot") + "/_fake/stats").json()["result"]
        print(f"  server stats: total_requests={stats['total_requests']} errors={stats['errors']}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
