"""The labelled question sets and what each one trained, in one place: the encoder's fine-tuning
(tools/train_encoder.py), the answer-or-refuse model (bench/fit_calibration.py) and the report
(bench/answer_quality.py) read these lists, so a set can never train one and count as unseen in another.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = ("paraphrases", "fresh_check", "final_check")  # on the bundled sample feed
ENCODER = (*SAMPLE, *(f"blind{n}_check" for n in ("", *range(2, 9), *range(13, 23), 27, 29, 30)))
CALIBRATION = tuple(f"blind{n}_check" for n in range(9, 13))
HOLDOUT = tuple(f"blind{n}_check" for n in (*range(23, 27), 28))  # chose nothing; read once


def feed_of(check: str) -> Path:
    if check.startswith("blind"):
        return ROOT / "bench" / f"{check.removesuffix('_check')}_feed.json"
    return ROOT / "storage" / "data" / "sample_feed.json"


def questions_of(check: str) -> Path:
    return ROOT / "bench" / f"{check}.json"
