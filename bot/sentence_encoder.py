"""Sentence vectors from all-MiniLM-L6-v2, int8 ONNX, on onnxruntime: no PyTorch, no network.

The weights (`data/minilm_storybot_int8.onnx`, Apache-2.0 like the model they come from) are
all-MiniLM-L6-v2 fine-tuned by tools/train_encoder.py on our labelled follow-up questions, so that a
question lands near the pair that answers it and away from one that merely shares its topic. The
WordPiece vocabulary (`data/minilm_vocab.txt`, BERT base uncased, Apache-2.0) is the model's own: a
vocabulary that differs by one entry would silently give other vectors.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

VOCABULARY = Path(__file__).with_name("data") / "minilm_vocab.txt"
MODEL = Path(__file__).with_name("data") / "minilm_storybot_int8.onnx"
MAX_TOKENS = 256  # what the model was trained with; a longer text keeps its first 256 tokens
_BATCH = 16


class MiniLM:
    def __init__(self) -> None:
        import onnxruntime
        from tokenizers import BertWordPieceTokenizer

        if not MODEL.is_file():
            raise FileNotFoundError(f"{MODEL} is missing (tools/train_encoder.py writes it)")

        options = onnxruntime.SessionOptions()
        # Two threads take a question from ~3.9 to ~2.3 ms (p50); more only add overhead at this size.
        options.intra_op_num_threads = min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False  # the arena keeps the largest batch's memory for good
        self._session = onnxruntime.InferenceSession(str(MODEL), options, providers=["CPUExecutionProvider"])
        self._tokenizer = BertWordPieceTokenizer(str(VOCABULARY), lowercase=True)
        self._tokenizer.enable_truncation(MAX_TOKENS)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors (len(texts), 384), the mean of each text's token states as the model was trained."""
        encoded = self._tokenizer.encode_batch(list(texts))
        out = np.zeros((len(encoded), 384), dtype=np.float32)
        # Texts of like length share a batch, so a short one is not padded to a long one's length.
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].ids))
        for start in range(0, len(order), _BATCH):
            rows = order[start : start + _BATCH]
            width = max(len(encoded[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for r, i in enumerate(rows):
                ids[r, : len(encoded[i].ids)] = encoded[i].ids
                mask[r, : len(encoded[i].ids)] = 1
            states = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            mean = (states * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            out[rows] = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
        return out
