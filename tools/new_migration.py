"""Write a new Alembic revision: upgrade a scratch SQLite database to head, then autogenerate the diff.

Usage: .venv/bin/python tools/new_migration.py "what it adds" 0002
Review the generated file: autogenerate does not see every change.
"""

import asyncio
import os
import sys
import tempfile

from alembic import command
from sqlalchemy.engine import Connection

from storage.db import alembic_config, create_engine, upgrade


async def main(message: str, rev_id: str) -> None:
    engine = create_engine("sqlite+aiosqlite:///" + os.path.join(tempfile.mkdtemp(), "scratch.db"))
    await upgrade(engine)

    def revise(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)

    async with engine.begin() as conn:
        await conn.run_sync(revise)
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
