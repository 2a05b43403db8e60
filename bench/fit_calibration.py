"""Fit the answer-or-refuse model (domain.answering) and write domain/data/calibration.json.

Run: .venv/bin/python bench/fit_calibration.py [--dry-run]

Training data: the blind sets blind9 .. blind12 (40 stories, 960 questions), which the sentence
encoder's fine-tuning (tools/train_encoder.py) never saw: on the sets it was trained on, its scores
are better than on a new feed, and a model fitted there would answer too readily.
For each question the best pair by blended score is judged: label 1 when it is the expected answer,
0 otherwise (a wrong pair or an unanswerable question). A logistic regression on standardised
features, fitted by plain gradient descent (deterministic). The threshold is the one that best
balances answered and refused on those sets, since new feeds are what the bot meets.
blind23 .. blind26 and blind28 are used by neither; bench/answer_quality.py reports them as the holdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import question_sets  # noqa: E402  (bench/, beside this script)

from bot.answers import load_encoder  # noqa: E402
from domain import answering, matching, semantic  # noqa: E402

TRAIN = question_sets.CALIBRATION


def examples(check: str, encode: semantic.Encode, words: semantic.WordVectors) -> list[dict[str, Any]]:
    threads = {
        t["id"]: t for t in json.loads(question_sets.feed_of(check).read_text(encoding="utf-8"))["threads"]
    }
    vectors: dict[str, semantic.PairVectors] = {}
    rows = []
    for item in json.loads(question_sets.questions_of(check).read_text(encoding="utf-8")):
        thread = threads[item["thread"]]
        qa = tuple((p["q"], p["a"]) for p in thread["qa"])
        if thread["id"] not in vectors:
            vectors[thread["id"]] = semantic.embed_pairs(encode, qa, words)
        question = item["question"]
        close = semantic.closeness(
            encode([question])[0],
            vectors[thread["id"]],
            words.matrix(semantic.content_words(question)),
            words,
        )
        lexical = matching.rank(question, qa, title=thread["title"], tags=thread.get("tags", ()))
        found = answering.evidence(question, qa, lexical, close, title=thread["title"])
        assert found is not None
        order, features = found
        rows.append({"expected": item["expected"], "best": order[0], "x": features})
    return rows


def fit(x: np.ndarray, y: np.ndarray, *, l2: float = 0.01, steps: int = 3000, rate: float = 0.5) -> tuple:  # type: ignore[type-arg]
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-9
    z = np.c_[(x - mean) / scale, np.ones(len(x))]
    w = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ w))
        w -= rate * (z.T @ (p - y) / len(y) + l2 * np.r_[w[:-1], 0])
    return mean, scale, w


def rates(rows: list[dict[str, Any]], model: answering.Calibration) -> tuple[float, float]:
    right = refused = answerable = 0
    for row in rows:
        fits = row["x"][answering.FEATURES.index("fits")] > 0
        answered = fits and answering.probability(row["x"], model) >= model.threshold
        if row["expected"] is None:
            refused += not answered
        else:
            answerable += 1
            right += answered and row["best"] == row["expected"]
    return right / answerable, refused / (len(rows) - answerable)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dry-run", action="store_true", help="print the figures, do not write the file")
    args = parser.parse_args()
    encode = load_encoder()
    assert encode is not None, "the sentence encoder is not installed"
    words = semantic.WordVectors(encode)
    data = {check: examples(check, encode, words) for check in TRAIN}
    rows = [row for check in TRAIN for row in data[check]]
    x = np.array([row["x"] for row in rows])
    y = np.array([float(row["best"] == row["expected"]) for row in rows])
    mean, scale, w = fit(x, y)
    best = None
    for threshold in np.arange(0.30, 0.80, 0.0125):
        model = answering.Calibration(tuple(mean), tuple(scale), tuple(w), float(threshold))
        answered, refused = rates(rows, model)
        if best is None or min(answered, refused) > best[0]:
            best = (min(answered, refused), model)
    assert best is not None
    model = best[1]
    print(f"threshold {model.threshold:.4f}")
    for check in TRAIN:
        answered, refused = rates(data[check], model)
        print(f"  {check:<14} answered {answered:6.1%}  refused {refused:6.1%}  (trained on)")
    for name, weight in zip(answering.FEATURES, w, strict=False):
        print(f"  weight {name:<18} {weight:+.3f}")
    if not args.dry_run:
        answering.CALIBRATION.parent.mkdir(exist_ok=True)
        answering.CALIBRATION.write_text(
            json.dumps(
                {
                    "fitted_by": "bench/fit_calibration.py",
                    "trained_on": list(TRAIN),
                    "features": list(answering.FEATURES),
                    "mean": [round(float(v), 6) for v in mean],
                    "scale": [round(float(v), 6) for v in scale],
                    "weights": [round(float(v), 6) for v in w],
                    "threshold": round(model.threshold, 4),
                },
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"wrote {answering.CALIBRATION.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
