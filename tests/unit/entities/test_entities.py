"""Entity tagging: document-level consistency, headlines, name resolution, cache, offsets.

The resolution tests feed hand-written "model output" (including typical model mistakes) to
``resolve_document``, so they test our rules, not the model. The integration tests run the installed model
on documents written here and check invariants that do not depend on its exact guesses.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.entities import tagger as E
from pipeline.entities.resolve import RawMention, Unit, case_unreliable, normalise, resolve_document, trim_span
from pipeline.schema import ENTITIES, ENTITY_CACHE, ENTITY_DAILY


def _raw(text: str, surface: str, label: str, nth: int = 0, score: float | None = None) -> RawMention:
    pos = -1
    for _ in range(nth + 1):
        pos = text.index(surface, pos + 1)
    return RawMention(pos, pos + len(surface), label, score)


def _units(text: str, headline: bool = True) -> list[Unit]:
    """One unit per line; the first line is the headline."""
    units, pos = [], 0
    for i, line in enumerate(text.split("\n")):
        if line.strip():
            units.append(Unit(pos, pos + len(line), "headline" if headline and i == 0 else "body"))
        pos += len(line) + 1
    return units


def _ents(text, raw, headline=True):
    return [e for e, _ in resolve_document(text, _units(text, headline), raw)]


# --- pure rules --------------------------------------------------------------------------------------------


def test_one_label_per_surface_by_majority():
    text = "County news\nLeicestershire won. Leicestershire lost.\nFans of Leicestershire cheered."
    raw = [
        _raw(text, "Leicestershire", "ORG", 0),
        _raw(text, "Leicestershire", "GPE", 1),
        _raw(text, "Leicestershire", "ORG", 2),
    ]
    ents = _ents(text, raw)
    assert [e.label for e in ents] == ["ORG", "ORG", "ORG"]


def test_vote_uses_scores_when_the_model_has_them():
    text = "Report\nJordan said. Jordan left. Jordan returned."
    raw = [
        _raw(text, "Jordan", "GPE", 0, score=0.95),
        _raw(text, "Jordan", "PERSON", 1, score=0.3),
        _raw(text, "Jordan", "PERSON", 2, score=0.3),
    ]
    assert {e.label for e in _ents(text, raw)} == {"GPE"}


def test_surname_and_possessive_resolve_to_full_name():
    text = (
        "Talks resume\n"
        "Foreign Minister Mohammad Javad Zarif arrived on Monday.\n"
        "Zarif's aides said Javad\n  Zarif would stay. Later Zarif left."
    )
    raw = [
        _raw(text, "Mohammad Javad Zarif", "PERSON"),
        _raw(text, "Zarif's", "PERSON"),  # models often include the possessive
        _raw(text, "Javad\n  Zarif", "PERSON"),
        _raw(text, "Zarif", "ORG", 3),  # and flip the label of a lone surname
    ]
    ents = _ents(text, raw)
    assert all(text[e.start : e.end] == e.text for e in ents)
    zarifs = [e for e in ents if "Zarif" in e.text]
    assert [e.text for e in zarifs] == ["Mohammad Javad Zarif", "Zarif", "Javad\n  Zarif", "Zarif"]
    assert {e.norm for e in zarifs} == {"Mohammad Javad Zarif"}
    assert {e.label for e in zarifs} == {"PERSON"}


def test_shared_surname_resolves_to_the_nearest_preceding_full_name():
    text = "Two Clintons\nBill Clinton spoke first. Clinton joked.\nThen Hillary Clinton spoke. Clinton smiled."
    raw = [
        _raw(text, "Bill Clinton", "PERSON"),
        _raw(text, "Clinton", "PERSON", 2),
        _raw(text, "Hillary Clinton", "PERSON"),
        _raw(text, "Clinton", "PERSON", 4),
    ]
    norms = [e.norm for e in _ents(text, raw) if e.text == "Clinton"]
    assert norms == ["Bill Clinton", "Hillary Clinton"]


def test_title_case_headline_keeps_only_names_the_body_confirms():
    text = "Zarif Tries To Calm Fears Over Deal\nMohammad Javad Zarif said the deal would hold."
    raw = [_raw(text, "Zarif Tries", "PERSON"), _raw(text, "Mohammad Javad Zarif", "PERSON")]
    ents = _ents(text, raw)
    head = [e for e in ents if e.end <= text.index("\n")]
    assert [(e.text, e.label, e.norm) for e in head] == [("Zarif", "PERSON", "Mohammad Javad Zarif")]
    assert not any("Tries" in e.text for e in ents)


def test_all_caps_headline_finds_body_entities_case_insensitively():
    text = "LEICESTERSHIRE TAKE OVER AT TOP\nLeicestershire beat Somerset by an innings."
    raw = [
        _raw(text, "TAKE OVER", "ORG"),  # a false name from the shouting headline
        _raw(text, "Leicestershire", "ORG", 0),
        _raw(text, "Somerset", "ORG"),
    ]
    head = [e for e in _ents(text, raw) if e.end <= text.index("\n")]
    assert [(e.text, e.label, e.norm) for e in head] == [("LEICESTERSHIRE", "ORG", "Leicestershire")]


def test_sentence_case_headline_is_trusted():
    text = "Zarif meets Mogherini in Vienna\nThe talks went on late."
    raw = [_raw(text, "Zarif", "PERSON"), _raw(text, "Mogherini", "PERSON"), _raw(text, "Vienna", "GPE")]
    assert [e.text for e in _ents(text, raw)] == ["Zarif", "Mogherini", "Vienna"]


def test_headline_only_document_keeps_model_output():
    text = "OPEC AGREES OUTPUT CUT"
    assert [e.text for e in _ents(text, [_raw(text, "OPEC", "ORG")])] == ["OPEC"]


def test_repeats_are_tagged_but_not_inside_longer_names():
    text = "Results\nEssex won. The match at Chelmsford saw Essex dominate.\nEssex County Council was shut."
    raw = [_raw(text, "Essex", "ORG", 0)]
    ents = _ents(text, raw)
    assert [(e.start, e.label) for e in ents] == [
        (text.index("Essex"), "ORG"),
        (text.index("Essex dom"), "ORG"),
    ]


def test_surname_repeats_missed_by_the_model_are_found():
    text = "Cricket\nPhil Simmons took four wickets. Later, Simmons scored 40."
    ents = _ents(text, [_raw(text, "Phil Simmons", "PERSON")])
    assert [(e.text, e.norm) for e in ents] == [("Phil Simmons", "Phil Simmons"), ("Simmons", "Phil Simmons")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zarif Tries To Calm Fears Over Deal", True),
        ("ZARIF TRIES AGAIN", True),
        ("Zarif tries to calm fears over the deal", False),
        ("Zarif meets Mogherini in Vienna", False),
        ("LONDON 1996-08-30", False),  # one word: nothing to judge by
    ],
)
def test_case_unreliable(text, expected):
    assert case_unreliable(text) is expected


def test_normalise_and_trim():
    assert normalise("the  United\nNations'") == "United Nations"
    assert normalise("Mr. Zarif’s") == "Zarif"
    text = "(the UN's)"
    s, e = trim_span(text, 0, len(text), "ORG")
    assert text[s:e] == "UN"


# --- with the installed model ------------------------------------------------------------------------------

DOC = (
    "Zarif Tries To Calm Fears Over Nuclear Deal\n\n"
    "Iran's Foreign Minister Mohammad Javad Zarif said on Monday that talks in Vienna would continue. "
    "Zarif's aides said the United Nations had been informed.\n\n"
    "Diplomats in Geneva said Zarif would travel to Berlin on Friday."
)


def _frames(texts: dict[str, str]):
    docs = pl.DataFrame(
        {"doc_id": list(texts), "pub_date": [date(2024, 5, 1)] * len(texts), "text": list(texts.values())}
    )
    rows = []
    for doc_id, text in texts.items():
        for i, unit in enumerate(E._units_of(text)):
            s = text[unit.start : unit.end]
            rows.append((doc_id, date(2024, 5, 1), i, unit.start, unit.end, s, unit.section, str(hash(s))))
    sents = pl.DataFrame(
        rows,
        schema=["doc_id", "pub_date", "sent_idx", "start", "end", "text", "section", "sent_hash"],
        orient="row",
    ).with_columns(pl.col("sent_idx", "start", "end").cast(pl.Int32))
    return docs, sents


def test_tag_entities_offsets_headline_and_names():
    (ents,) = E.tag_entities([DOC])
    assert ents, "the model should find entities in this document"
    assert all(DOC[e.start : e.end] == e.text for e in ents)
    assert not any("Tries" in e.text for e in ents)
    zarif = [e for e in ents if e.text == "Zarif"]
    assert len(zarif) >= 2
    assert {e.norm for e in zarif} == {"Mohammad Javad Zarif"}
    assert len({e.label for e in ents if e.norm == "Mohammad Javad Zarif"}) == 1


def test_long_texts_are_split_not_dropped():
    para = "Officials in Berlin met Angela Merkel on Tuesday. "
    text = para * 40
    (ents,) = E.tag_entities([text], config=E.TaggerConfig(max_chars=300))
    assert all(text[e.start : e.end] == e.text for e in ents)
    last = text.rindex("Berlin")
    assert any(e.start == last and e.text == "Berlin" for e in ents)


def test_entities_frame_uses_the_cache_and_tags_repeats_once(monkeypatch):
    docs, sents = _frames({"a": DOC, "b": DOC.replace("Friday", "Sunday")})
    ents, cache, stats = E.tag_documents(docs, sents, None)
    assert ents.schema == ENTITIES.schema and cache.schema == ENTITY_CACHE.schema
    assert set(ents["model"]) == {E.model_id()}
    texts = dict(zip(docs["doc_id"], docs["text"], strict=True))
    assert all(texts[d][s:e] == t for d, s, e, t in ents.select("doc_id", "start", "end", "text").iter_rows())
    # Two identical sentences (headline, first paragraph) are tagged once; the third differs.
    assert stats["repeated_in_batch"] == 2 and stats["tagged_sentences"] == 4
    assert cache.height == 4

    def no_model(*a, **k):
        raise AssertionError("a cached sentence went through the model again")

    monkeypatch.setattr(E, "tag_raw", no_model)
    again, new_cache, stats2 = E.tag_documents(docs, sents, cache)
    assert stats2["cache_hits"] == sents.height and stats2["cache_hit_rate"] == 1.0
    assert new_cache.height == 0
    assert again.equals(ents)


def test_cache_rows_that_do_not_fit_the_sentence_are_retagged():
    docs, sents = _frames({"a": DOC})
    _, cache, _ = E.tag_documents(docs, sents, None)
    bad = cache.with_columns(pl.lit([{"start": 3, "end": 7, "label": "ORG", "score": None}]).alias("ents"))
    ents, _, stats = E.tag_documents(docs, sents, bad.cast(ENTITY_CACHE.schema))
    assert stats["cache_hits"] == 0
    assert all(DOC[s:e] == t for s, e, t in ents.select("start", "end", "text").iter_rows())


def test_unknown_model_is_an_error_not_a_download():
    with pytest.raises(OSError, match="not installed"):
        E.model_id(E.TaggerConfig(model="xx_no_such_pipeline"))


def test_entity_daily_counts_mentions_and_documents():
    d1, d2 = date(2024, 5, 1), date(2024, 5, 2)
    ents = pl.DataFrame(
        {
            "doc_id": ["a", "a", "b", "c"],
            "pub_date": [d1, d1, d1, d2],
            "norm": ["Zarif", "Zarif", "Zarif", "Zarif"],
            "label": ["PERSON"] * 4,
        }
    )
    daily = E.count_daily(ents)
    assert daily.schema == ENTITY_DAILY.schema
    assert daily.select("pub_date", "mentions", "documents").rows() == [(d1, 3, 2), (d2, 1, 1)]


def test_worker_processes_give_the_same_entities():
    texts = {f"d{i}": DOC.replace("Friday", day) for i, day in enumerate(["Friday", "Monday", "Sunday", "Tuesday"])}
    docs, sents = _frames(texts)
    serial, serial_cache, serial_stats = E.tag_documents(docs, sents, None)
    cfg = E.TaggerConfig(n_process=2, min_parallel=0, chunk_texts=3)  # several tasks over two workers
    try:
        par, par_cache, par_stats = E.tag_documents(docs, sents, None, config=cfg)
    finally:
        E.close_pools()
    assert par.equals(serial)
    assert par_stats["entities"] == serial_stats["entities"] and par_stats["cache_hits"] == 0
    # a sentence shared by documents that different workers resolve is still tagged once
    assert par_stats["tagged_sentences"] == serial_stats["tagged_sentences"] == sents["sent_hash"].n_unique()
    assert set(par_cache["sent_hash"]) == set(serial_cache["sent_hash"])
    assert par_cache.sort("sent_hash").equals(serial_cache.sort("sent_hash"))


@pytest.mark.slow
def test_tagger_workers_start_from_a_script_without_a_main_guard(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "from pipeline.entities.tagger import TaggerConfig, close_pools, tag_entities\n"
        "texts = ['Mayor Anna Lind of Port Ellery met officials in London on Monday.'] * 50\n"
        "out = tag_entities(texts, config=TaggerConfig(n_process=2, min_parallel=10))\n"
        "print('tagged', len(out), sorted({e.text for e in out[0]}))\n"
        "close_pools()\n"
    )
    import signal

    def sigterm_ignored() -> None:
        # as inherited from a parent where Dagster gave SIGTERM an ignored SIGINT's disposition: the workers
        # must still stop when the pool is closed
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    res = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=Path(__file__).resolve().parents[3],
        preexec_fn=sigterm_ignored,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "tagged 50" in res.stdout and "Anna Lind" in res.stdout


@pytest.mark.slow
def test_each_language_is_tagged_by_its_own_model_or_skipped(tmp_path):
    from datetime import date

    from pipeline import storage
    from pipeline.config import Settings
    from pipeline.entities import runner
    from pipeline.schema import DOCUMENTS
    from pipeline.sentences import runner as sentences_runner
    from pipeline.storage import Lake

    day = date(2026, 11, 24)
    texts = {
        "en": "Mayor Anna Lind of Port Ellery met officials in London on Monday.",
        "fr": "Le président Emmanuel Macron a rencontré à Paris le maire de Lyon, Grégory Doucet.",
        "de": "Die Schulen in Hamburg bleiben geschlossen, sagte das Ministerium am Montag in Berlin.",
    }
    rows = [
        {"doc_id": lang, "pub_date": day, "text": text, "body_start": 0, "body_end": len(text), "language": lang}
        for lang, text in texts.items()
    ]
    lake = Lake(str(tmp_path / "lake"))
    frame = pl.DataFrame(rows).with_columns(
        [pl.lit(None, dtype).alias(name) for name, dtype in DOCUMENTS.schema.items() if name not in rows[0]]
    )
    storage.write_partitions(lake, DOCUMENTS, DOCUMENTS.conform(frame), dates=[day])
    settings = Settings.load(environ={})
    sentences_runner.run(lake, [day], settings=settings, run_id="t")
    result = runner.run(lake, [day], settings=settings, run_id="t")
    ents = storage.read(lake, ENTITIES)
    by_doc = {d: set(g["model"]) for (d,), g in ents.group_by("doc_id")}
    assert any(m.startswith("en_") for m in by_doc["en"]) and any(m.startswith("fr_") for m in by_doc["fr"])
    assert "de" not in by_doc, "German text got entities from a model of another language"
    figures = {t.table: t.figures for t in result.tables}
    assert figures["entities"]["skipped_language"] == 1
    assert "Paris" in set(ents.filter(pl.col("doc_id") == "fr")["text"])
