"""`storybot` command line: run, import, console, db upgrade."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from importlib import resources

from telegram import Update

from bot.config import ConfigError, Settings, load_settings
from storage.feed import FeedError

log = logging.getLogger("storybot")


class RedactSecrets(logging.Filter):
    """Keeps the bot token out of every log line, whoever writes it (httpx logs request URLs)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            for secret in self.secrets:
                message = message.replace(secret, "[token]")
            record.msg, record.args = message, None
        return True


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets([settings.telegram_bot_token or ""]))
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def sample_feed_path() -> str:
    return str(resources.files("storage").joinpath("data/sample_feed.json"))


async def _import(settings: Settings, source: str) -> int:
    from bot.feeds import import_from
    from storage.db import create_engine, session_factory, upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        report = await import_from(session_factory(engine), source)
    except FeedError as exc:
        print(f"import failed, nothing changed: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"imported {report.summary()}")
    for skipped in report.skipped:
        print(f"  skipped {skipped.thread_id}: {skipped.reason}")
    for slug, flag in report.flagged:
        print(f"  flagged {slug}: {flag}")
    return 0


async def _upgrade(settings: Settings) -> int:
    from storage.db import create_engine, upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    print(f"database is up to date: {settings.redacted_database_url()}")
    return 0


def run_bot(settings: Settings) -> int:
    from bot.app import build_application

    if not settings.telegram_bot_token:
        print("TELEGRAM_BOT_TOKEN is not set: starting the console instead (see README).", file=sys.stderr)
        return run_console(settings)
    app = build_application(settings)
    app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


def run_console(settings: Settings) -> int:
    from bot.console import run

    return run(settings, sample_feed=sample_feed_path())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="storybot", description="News story briefings on Telegram.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (long polling); without a token, the console")
    imp = sub.add_parser("import", help="import a story feed from a file or an http(s) URL")
    imp.add_argument("source", help="path or URL of a feed document (format version 1)")
    sub.add_parser("console", help="talk to the bot in this terminal, no Telegram needed")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply pending migrations")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"storybot: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings)
    if args.command == "run":
        return run_bot(settings)
    if args.command == "console":
        return run_console(settings)
    if args.command == "import":
        return asyncio.run(_import(settings, args.source))
    if args.command == "db":
        return asyncio.run(_upgrade(settings))
    parser.error("unknown command")
    return 2


if __name__ == "__main__":
    sys.exit(main())
