"""`storybot console`: the same handlers in a terminal, buttons picked by number."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.bot_process import ROOT
from tests.conftest import SAMPLE_FEED

ISTANBUL = next(
    t for t in json.loads(SAMPLE_FEED.read_text())["threads"] if t["id"] == "istanbul-talks-2025-06"
)


def test_console_shows_cards_and_numbered_buttons(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    session = "/start\n/story istanbul\n1\nwho won the cup final\n/quit\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        input=session,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Istanbul Talks" in out
    assert f"[1] ❓ {ISTANBUL['qa'][0]['q']}" in out
    assert ISTANBUL["qa"][0]["a"] in out, "button 1 of the card was pressed"
    assert "does not answer" in out
    assert "<b>" not in out and "&amp;" not in out, "HTML is shown as text"
