"""Building feed documents for tests."""

from __future__ import annotations

import json
from typing import Any


def thread(slug: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": slug,
        "title": f"Story {slug}",
        "summary": f"What happened in {slug}.",
    }
    base.update(fields)
    return base


def feed(*threads: dict[str, Any], generated_at: str = "2025-06-05T12:00:00Z", **extra: Any) -> bytes:
    return json.dumps(
        {"version": 1, "generated_at": generated_at, "threads": list(threads), **extra}
    ).encode()
