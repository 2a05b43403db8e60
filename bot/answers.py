"""Follow-up answering for handlers: the lexical matcher, blended with sentence vectors once loaded.

The encoder (all-MiniLM-L6-v2 fine-tuned on our question sets, int8, on onnxruntime:
bot.sentence_encoder; the weights ship with the bot, so no network) loads in a worker thread after
start in a fraction of a second and adds ~200 MiB; until it is ready, or when SEMANTIC_MATCHING=off or
onnxruntime or the model file is missing, questions are matched on words alone. Each thread's pair
vectors are computed when its card is shown (or on its first follow-up; for the trending threads,
right after loading) and kept for the most recently used threads.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np

from domain import answering, matching, semantic
from domain.matching import Match, Verdict
from domain.story import Story

log = logging.getLogger(__name__)

_CACHED_THREADS = 1024  # ~30 KiB each (sentence vectors; word vectors are shared)


def load_encoder() -> semantic.Encode | None:
    try:
        from bot.sentence_encoder import MiniLM

        model = MiniLM()
    except (ImportError, FileNotFoundError) as missing:
        log.warning("%s: follow-up questions are matched on words alone", missing)
        return None

    def encode(texts: Sequence[str]) -> np.ndarray:
        return model.encode(texts)

    encode(["warm up"])  # the first run sets up the graph; pay for it here, not on a user's question
    return encode


class Answerer:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._encode: semantic.Encode | None = None
        self._loading: asyncio.Task[None] | None = None
        self._loaded = asyncio.Event()  # the encoder is in (or failed to load): questions need not wait
        # Threads being embedded now: a question that arrives meanwhile waits for that, not a second run.
        self._embedding: dict[tuple[tuple[str, str], ...], asyncio.Task[semantic.PairVectors]] = {}

    @property
    def ready(self) -> bool:
        return self._encode is not None

    def start_loading(self, prefetch: Callable[[], Awaitable[Sequence[Story]]] | None = None) -> None:
        """Load the encoder in the background, then embed the `prefetch` stories (the trending ones)."""
        if self.enabled and self._loading is None:
            self._loading = asyncio.get_running_loop().create_task(self._load(prefetch))

    async def wait_ready(self) -> None:
        """Until the encoder is loaded and the trending threads are embedded (shutdown, benchmarks)."""
        if self._loading is not None:
            await self._loading

    async def _wait_encoder(self) -> None:
        if self._loading is not None and not self._loading.done():
            await self._loaded.wait()

    async def close(self) -> None:
        """Stop embedding ahead of time; a load in progress finishes (a thread cannot be interrupted)."""
        waiting: list[asyncio.Future[Any]] = list(self._embedding.values())
        for task in waiting:
            task.cancel()
        if self._loading is not None and not self._loading.done():
            if self._loaded.is_set():
                self._loading.cancel()
            waiting.append(self._loading)
        await asyncio.gather(*waiting, return_exceptions=True)

    async def _load(self, prefetch: Callable[[], Awaitable[Sequence[Story]]] | None) -> None:
        try:
            self._encode = await asyncio.to_thread(_shared_encoder)
        except Exception:
            log.exception("could not load the sentence encoder: matching on words alone")
            return
        finally:
            self._loaded.set()
        if self._encode is None:
            return
        log.info("sentence encoder loaded: follow-ups are matched on meaning as well as words")
        try:
            # A thread's first follow-up would pay ~0.2 s to embed its pairs; the likely ones pay it now.
            for story in await prefetch() if prefetch else ():
                await self._pair_vectors(story)
        except Exception:
            log.exception("could not embed the trending threads ahead of time; they will be on first use")

    def use(self, encode: semantic.Encode | None) -> None:
        """Set the encoder directly (tests, benchmarks)."""
        self._encode = encode

    def prepare(self, story: Story) -> None:
        """Embed a thread's pairs in the background: its card is on screen, so a follow-up may come next."""
        if self._encode is not None and story.qa and (self._encode, story.qa) not in _PAIR_VECTORS:
            self._embedding_task(story)

    async def _pair_vectors(self, story: Story) -> semantic.PairVectors:
        assert self._encode is not None
        # Keyed by content, not thread id: an edited Q&A is embedded again, an unchanged one never is.
        vectors = _PAIR_VECTORS.get((self._encode, story.qa))
        if vectors is not None:
            _PAIR_VECTORS.move_to_end((self._encode, story.qa))
            return vectors
        return await asyncio.shield(self._embedding_task(story))

    def _embedding_task(self, story: Story) -> asyncio.Task[semantic.PairVectors]:
        task = self._embedding.get(story.qa)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._embed(story))
            self._embedding[story.qa] = task
            task.add_done_callback(lambda _: self._embedding.pop(story.qa, None))
            # Retrieve a failure here too, so a prepare() nobody awaits does not log "never retrieved".
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return task

    async def _embed(self, story: Story) -> semantic.PairVectors:
        assert self._encode is not None
        encode = self._encode
        # A few hundred milliseconds of CPU for a new thread: off the event loop, so other chats go on.
        vectors = await asyncio.to_thread(semantic.embed_pairs, encode, story.qa, _word_vectors(encode))
        _PAIR_VECTORS[(encode, story.qa)] = vectors
        if len(_PAIR_VECTORS) > _CACHED_THREADS:
            _PAIR_VECTORS.popitem(last=False)
        return vectors

    async def closeness(self, story: Story, question: str) -> semantic.Closeness | None:
        if self._encode is None or not story.qa:
            return None
        vectors = await self._pair_vectors(story)
        words = _word_vectors(self._encode)
        user_words = words.matrix(semantic.content_words(question))
        return semantic.closeness(self._encode([question])[0], vectors, user_words, words)

    async def answer(self, story: Story, question: str) -> Verdict:
        """The matching stored pair, or None and the nearest pair worth suggesting (if any).

        A question that arrives while the encoder is still loading (the first second after start)
        waits for it, so the same question always gets the same reply.
        """
        await self._wait_encoder()
        close = await self.closeness(story, question)
        if close is None:
            # Words alone: the encoder is off, missing or failed to load.
            return matching.judge(question, story.qa, title=story.title, tags=story.tags)
        decision = answering.decide(question, story.qa, close, title=story.title, tags=story.tags)
        if decision.answer and decision.best is not None:
            return Verdict(Match(decision.best, round(decision.probability, 4)), None, ())
        return Verdict(None, decision.nearest, decision.order)


_ENCODER: list[semantic.Encode | None] = []
# Pair vectors of the most recently asked threads, shared by every Answerer of the process.
_PAIR_VECTORS: OrderedDict[tuple[semantic.Encode, tuple[tuple[str, str], ...]], semantic.PairVectors] = (
    OrderedDict()
)
_ENCODER_LOCK = threading.Lock()
_WORDS: dict[semantic.Encode, semantic.WordVectors] = {}


def _word_vectors(encode: semantic.Encode) -> semantic.WordVectors:
    with _ENCODER_LOCK:
        if encode not in _WORDS:
            _WORDS[encode] = semantic.WordVectors(encode)
        return _WORDS[encode]


def _shared_encoder() -> semantic.Encode | None:
    # One model per process, however many Applications it builds (the test suite builds many).
    with _ENCODER_LOCK:
        if not _ENCODER:
            _ENCODER.append(load_encoder())
        return _ENCODER[0]
