"""Search as a user meets it through /story."""

from __future__ import annotations

import json

import pytest

from domain.search import SearchDoc, SearchIndex
from tests.conftest import SAMPLE_FEED


@pytest.fixture(scope="module")
def index() -> tuple[SearchIndex, dict[int, str]]:
    threads = json.loads(SAMPLE_FEED.read_text())["threads"]
    docs = [
        SearchDoc(
            key=i,
            slug=t["id"],
            title=t["title"],
            tags=tuple(t.get("tags", ())),
            summary=t["summary"],
            brief="\n".join(t.get("brief", ())),
            rank=t.get("rank"),
        )
        for i, t in enumerate(threads, 1)
    ]
    return SearchIndex(docs), {d.key: d.slug for d in docs}


def best(index: tuple[SearchIndex, dict[int, str]], query: str) -> tuple[str | None, bool]:
    idx, slugs = index
    result = idx.search(query)
    return (slugs[result.hits[0].key] if result.hits else None), result.decisive


@pytest.mark.parametrize(
    "query", ["Istanbul", "istanbul", "ISTANBUL talks", "Istambul", "istanbull", "İstanbul"]
)
def test_istanbul_finds_the_talks_whatever_the_spelling(index, query: str) -> None:  # type: ignore[no-untyped-def]
    assert best(index, query) == ("istanbul-talks-2025-06", True)


def test_accents_are_ignored() -> None:
    idx = SearchIndex([SearchDoc(1, "cafe", "Café owners protest", (), "Zürich cafés close early", "")])
    assert [h.key for h in idx.search("cafe zurich").hits] == [1]
    assert [h.key for h in idx.search("CAFÉ").hits] == [1]


def test_unrelated_words_find_nothing(index) -> None:  # type: ignore[no-untyped-def]
    assert best(index, "zzzqqq") == (None, False)
    assert best(index, "the of and") == (None, False)
    assert best(index, "🙂") == (None, False)


def test_a_word_in_several_stories_offers_a_choice() -> None:
    idx = SearchIndex(
        [
            SearchDoc(1, "a", "Flood warnings in Spain", ("weather",), "Rain keeps falling.", ""),
            SearchDoc(2, "b", "Flood defences fail in Italy", ("weather",), "Rivers burst banks.", ""),
            SearchDoc(3, "c", "Election in Chile", ("politics",), "Voters go to the polls.", ""),
        ]
    )
    result = idx.search("flood")
    assert {h.key for h in result.hits} == {1, 2}
    assert not result.decisive
    assert idx.search("flood italy").hits[0].key == 2
    assert idx.search("flood italy").decisive


def test_the_thread_id_opens_its_story(index) -> None:  # type: ignore[no-untyped-def]
    assert best(index, "istanbul-talks-2025-06") == ("istanbul-talks-2025-06", True)


def test_summary_and_brief_words_are_searched_too() -> None:
    idx = SearchIndex(
        [SearchDoc(1, "a", "Talks end early", (), "Prisoner exchange agreed.", "Drones struck an airbase.")]
    )
    assert [h.key for h in idx.search("prisoner").hits] == [1]
    assert [h.key for h in idx.search("airbase drones").hits] == [1]


def test_hostile_queries_do_not_crash(index) -> None:  # type: ignore[no-untyped-def]
    idx, _ = index
    for query in [
        "",
        " ",
        "<b>",
        "&amp;",
        "x" * 5000,
        "مرحبا بالعالم",
        "\u202e\u0000",
        "a" * 100 + " b" * 500,
    ]:
        idx.search(query)
