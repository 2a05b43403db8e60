"""Follow-ups matched on meaning: a question that shares no word with the stored pair still finds it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

from bot.answers import Answerer, load_encoder
from domain import semantic
from domain.matching import best_answer
from domain.story import Story

QUAKE = Story(
    key=7,
    slug="coastal-quake",
    title="Coastal Earthquake",
    summary="A strong earthquake struck the coast.",
    tags=("earthquake",),
    qa=(
        (
            "How strong was the earthquake?",
            "The agency put it at magnitude 7.1, centred 40 kilometres off the coast at a shallow depth. "
            "Buildings swayed in the capital for almost a minute.",
        ),
        (
            "How many people died?",
            "Officials confirmed 31 deaths and more than 300 injuries. Nine people are still unaccounted "
            "for in the hill villages.",
        ),
        (
            "What help are survivors getting?",
            "About 12,000 people slept in school gyms on the first night. The government sent 4,000 "
            "soldiers with water, blankets and field kitchens.",
        ),
        (
            "Was there a tsunami?",
            "A warning was issued within minutes and waves of half a metre reached two harbours before "
            "it was lifted.",
        ),
        (
            "Are trains and flights running?",
            "The coastal rail line stays shut while engineers inspect bridges; the regional airport "
            "reopened on the second day.",
        ),
    ),
)


@pytest.fixture(scope="module")
def encode() -> Iterator[semantic.Encode]:
    loaded = load_encoder()
    assert loaded is not None, (
        "onnxruntime and tokenizers are dependencies of storybot, and bot/data holds the model"
    )
    yield loaded


async def ask(answerer: Answerer, question: str) -> tuple[int | None, int | None]:
    match, nearest, _order = await answerer.answer(QUAKE, question)
    return (None if match is None else match.index), nearest


def lexical(question: str) -> int | None:
    match = best_answer(question, QUAKE.qa, title=QUAKE.title, tags=QUAKE.tags)
    return None if match is None else match.index


def test_answers_are_split_into_sentences() -> None:
    assert semantic.sentences("First one. Second one! Third? 4 more.") == [
        "First one.",
        "Second one!",
        "Third?",
        "4 more.",
    ]
    assert semantic.sentences("no end mark") == ["no end mark"]
    assert semantic.sentences("U.S. officials said so.") == ["U.S. officials said so."]


def test_one_sentence_deep_in_an_answer_can_carry_the_match() -> None:
    vocabulary = ["magnitude", "soldiers", "blankets", "harbours", "rail", "deaths"]

    def bag_of_words(texts: Sequence[str]) -> np.ndarray:
        rows = np.array([[float(w in t.lower()) for w in vocabulary] + [0.1] for t in texts])
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    vectors = semantic.embed_pairs(bag_of_words, QUAKE.qa)
    scores = semantic.closeness(bag_of_words(["soldiers and blankets"])[0], vectors).score
    assert int(np.argmax(scores)) == 2
    empty = semantic.embed_pairs(bag_of_words, ())
    assert semantic.closeness(bag_of_words(["x"])[0], empty).score.shape == (0,)


async def test_a_question_in_other_words_is_answered_where_word_matching_refuses(
    encode: semantic.Encode,
) -> None:
    answerer = Answerer()
    answerer.use(encode)
    for question, expected in [
        ("are the railways closed", 4),
        ("are soldiers helping", 2),
        ("is the army helping out", 2),
        ("how bad was the shaking", 0),
        ("is the airport open", 4),
    ]:
        assert lexical(question) is None
        assert await ask(answerer, question) == (expected, None)


async def test_off_topic_questions_are_still_refused(encode: semantic.Encode) -> None:
    answerer = Answerer()
    answerer.use(encode)
    for question in ["whats the stock market doing", "who is the prime minister", "best pizza in town?"]:
        assert await ask(answerer, question) == (None, None)


async def test_a_detail_the_brief_lacks_is_refused_with_the_nearest_question_offered(
    encode: semantic.Encode,
) -> None:
    answerer = Answerer()
    answerer.use(encode)
    assert await ask(answerer, "how many buildings collapsed") == (None, 1)
    assert await ask(answerer, "how much aid money was promised") == (None, 2)
    assert await ask(answerer, "did the sea come in") == (3, None)


async def test_a_thread_is_embedded_once_then_only_the_question(encode: semantic.Encode) -> None:
    calls: list[int] = []

    def counting(texts: Sequence[str]) -> np.ndarray:
        calls.append(len(texts))
        return encode(texts)

    answerer = Answerer()
    answerer.use(counting)
    await ask(answerer, "are soldiers helping")
    assert calls[0] > 2 * len(QUAKE.qa)  # questions, whole pairs and every answer sentence
    calls.clear()
    await ask(answerer, "is the airport open")
    # Only the question and its words not met before ("airport" is in an answer, so only "open" is new).
    assert calls == [1, 1]


async def test_a_thread_prepared_when_its_card_shows_is_not_embedded_again_by_a_question(
    encode: semantic.Encode, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedded: list[Any] = []
    real = semantic.embed_pairs

    def counting(*args: Any) -> semantic.PairVectors:
        embedded.append(args[1])
        return real(*args)

    monkeypatch.setattr(semantic, "embed_pairs", counting)
    answerer = Answerer()
    answerer.use(lambda texts: encode(texts))  # an encoder of its own: no vectors cached yet
    answerer.prepare(QUAKE)
    # The question arrives while the pairs are still being embedded: it waits for that run.
    assert await ask(answerer, "is the army helping out") == (2, None)
    answerer.prepare(QUAKE)  # already embedded: nothing to do
    await answerer.close()
    assert embedded == [QUAKE.qa]


async def test_switched_off_it_matches_on_words_alone() -> None:
    answerer = Answerer(enabled=False)
    answerer.start_loading()
    assert not answerer.ready
    assert await ask(answerer, "are soldiers helping") == (None, None)
    assert await ask(answerer, "how many people died") == (1, None)


def test_without_its_model_file_the_bot_matches_on_words_and_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from bot import sentence_encoder

    monkeypatch.setattr(sentence_encoder, "MODEL", tmp_path / "missing.onnx")
    assert load_encoder() is None
    assert "missing.onnx is missing" in caplog.text
    assert "matched on words alone" in caplog.text


async def test_a_question_asked_while_the_model_loads_waits_for_it() -> None:
    answerer = Answerer()
    answerer.start_loading()
    assert await ask(answerer, "are the railways closed") == (4, None)
    assert answerer.ready


async def test_odd_text_is_refused_without_a_crash(encode: semantic.Encode) -> None:
    answerer = Answerer()
    answerer.use(encode)
    for question in [
        "🤔🤔",
        "?",
        "why " * 300,
        "<b>who</b> &amp; what",
        "مرحبا كيف الحال",
        "123 456",
        "the the",
    ]:
        match, _nearest, order = await answerer.answer(QUAKE, question)
        assert match is None
        assert sorted(order) == list(range(len(QUAKE.qa)))
