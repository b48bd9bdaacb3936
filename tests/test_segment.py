"""Sentence segmentation: behaviour on hand-written news snippets, the sentences frame, and invariants."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.schema import SENTENCES
from pipeline.sentences import (
    SegmentConfig,
    normalise_sentence,
    segment_documents,
    sentence_hash,
    split_sentences,
)


def sents(text: str, **kw) -> list[str]:
    spans = split_sentences(text, config=SegmentConfig(**kw)) if kw else split_sentences(text)
    return [text[a:b] for a, b in spans]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Titles never end a sentence before a name.
        (
            "Gen. Ana Ruiz arrived. Mr. Dole met Dr. Wu and Sen. Obi.",
            ["Gen. Ana Ruiz arrived.", "Mr. Dole met Dr. Wu and Sen. Obi."],
        ),
        # U.S.: a boundary only before a sentence-initial word.
        (
            "Exports to the U.S. rose. Tariffs hit the U.S. Treasury too.",
            ["Exports to the U.S. rose.", "Tariffs hit the U.S. Treasury too."],
        ),
        (
            "Profits were made in the U.S. The rest came from Asia.",
            ["Profits were made in the U.S.", "The rest came from Asia."],
        ),
        # Company suffixes end a sentence unless a job title or a lower-case word follows.
        ("He joined Acme Corp. Sales doubled.", ["He joined Acme Corp.", "Sales doubled."]),
        ("Former Acme Inc. President Jo Lee resigned.", ["Former Acme Inc. President Jo Lee resigned."]),
        (
            "Acme Co. said profit rose. It sold Beta Ltd. in May.",
            ["Acme Co. said profit rose.", "It sold Beta Ltd. in May."],
        ),
        # No. before a figure; months before a day.
        (
            "It ranked No. 3 on Oct. 5. No. The reply was final.",
            ["It ranked No. 3 on Oct. 5.", "No.", "The reply was final."],
        ),
    ],
)
def test_abbreviations(text, expected):
    assert sents(text) == expected


def test_times_and_fronted_phrases():
    text = "At 5 a.m. Mr. Lee left. He was back at 6 p.m. Mr. Lee then slept."
    assert sents(text) == ["At 5 a.m. Mr. Lee left.", "He was back at 6 p.m.", "Mr. Lee then slept."]
    assert sents("Trading ends at 4 p.m. Chicago time.") == ["Trading ends at 4 p.m. Chicago time."]


def test_initials_and_pronoun_i():
    assert sents("Judge John F. Keane ruled. A. B. Cole agreed.") == [
        "Judge John F. Keane ruled.",
        "A. B. Cole agreed.",
    ]
    assert sents("They called you and I. Did you answer?") == ["They called you and I.", "Did you answer?"]
    assert sents("It owns Finmare S.p. A. and more.") == ["It owns Finmare S.p. A. and more."]


def test_decimals_figures_and_addresses():
    text = "Shares rose 2.5% to $14.75. Volume was 1,234,000. See acme.example.com. It is 3.14 m."
    assert sents(text) == [
        "Shares rose 2.5% to $14.75.",
        "Volume was 1,234,000.",
        "See acme.example.com.",
        "It is 3.14 m.",
    ]
    assert sents("Turn to p. 12 for details.") == ["Turn to p. 12 for details."]


def test_quotations():
    assert sents('"We are done." She left.') == ['"We are done."', "She left."]
    assert sents('"We are done," she said. "Go."') == ['"We are done," she said.', '"Go."']
    assert sents('"Is it over?" she asked. "Yes!" he said.') == [
        '"Is it over?" she asked.',
        '"Yes!" he said.',
    ]
    # An attribution after a quoted question stays with it.
    assert sents('"Why now?" Mr. Lee asked. Nobody knew.') == ['"Why now?" Mr. Lee asked.', "Nobody knew."]
    # A quote followed by a space can only close the quotation.
    assert sents('He said it was over. " Then he left.') == ['He said it was over. "', "Then he left."]
    # Terminal punctuation inside a parenthesis before lower case continues the sentence.
    assert sents("He quit (he was tired.) and left.") == ["He quit (he was tired.) and left."]
    assert sents("He quit. (He was tired.) Then he left.") == ["He quit.", "(He was tired.)", "Then he left."]


def test_question_and_exclamation():
    assert sents("Why? Nobody knows! Yahoo! is a brand.") == ["Why?", "Nobody knows!", "Yahoo! is a brand."]
    assert sents("Really?! Yes.") == ["Really?!", "Yes."]


def test_ellipses():
    assert sents("Prices fell . . . and then rose.") == ["Prices fell . . . and then rose."]
    assert sents("He paused... then spoke.") == ["He paused... then spoke."]
    assert sents("It was over.... The fans left.") == ["It was over....", "The fans left."]
    # Three dots before "I": "I" is capitalised anywhere, so no boundary.
    assert sents("I wanted . . . I tried.") == ["I wanted . . . I tried."]
    assert sents("It ended . . . But the debate did not.") == ["It ended . . .", "But the debate did not."]
    # A full stop plus an ellipsis stays with the sentence it ends.
    assert sents("It was over. . . . The fans left.") == ["It was over. . . .", "The fans left."]
    assert sents('"Bohr [...] said so [...]" (Lee 4).') == ['"Bohr [...] said so [...]" (Lee 4).']


@pytest.mark.parametrize(
    "text",
    [
        "LONDON (Reuters) - Oil rose on Monday. Traders cited supply.",
        "WASHINGTON, Oct. 19 (Reuters) - Oil rose on Monday. Traders cited supply.",
        "ST. LOUIS, March 3 - Oil rose on Monday. Traders cited supply.",
        "FT. LAUDERDALE, Fla. (AP) — Oil rose on Monday. Traders cited supply.",
    ],
)
def test_datelines_stay_in_the_first_sentence(text):
    first, second = sents(text)
    assert first.endswith("Oil rose on Monday.") and first == text[: len(first)]
    assert second == "Traders cited supply."


def test_lists():
    assert sents("1. Buy bonds. 2. Sell stocks.") == ["1. Buy bonds.", "2. Sell stocks."]
    assert sents("1) Buy bonds 2) Sell stocks") == ["1) Buy bonds", "2) Sell stocks"]
    assert sents("a. Buy bonds b. Sell stocks c. Hold cash") == [
        "a. Buy bonds",
        "b. Sell stocks",
        "c. Hold cash",
    ]
    assert sents("• Buy bonds • Sell stocks") == ["• Buy bonds", "• Sell stocks"]
    assert sents("Steps:\n- Buy bonds\n- Sell stocks") == ["Steps:", "- Buy bonds", "- Sell stocks"]
    # Capitalised items after a colon are sentences; lower-case ones run on.
    assert sents("Do this: 1. Buy bonds. 2. Sell stocks.") == ["Do this:", "1. Buy bonds.", "2. Sell stocks."]
    assert sents("Three options: 1) no, 2) yes, or 3) maybe.") == ["Three options: 1) no, 2) yes, or 3) maybe."]
    # A number ending a sentence is not a list marker.
    assert sents("The score was 2. The fans went home.") == ["The score was 2.", "The fans went home."]


def test_side_heads_in_capitals():
    text = "Gold fell. COPPER: Futures rose. Acme Corp. said so."
    assert sents(text) == ["Gold fell.", "COPPER:", "Futures rose.", "Acme Corp. said so."]


def test_headlines_in_title_case_do_not_split_after_abbreviations():
    assert sents("Investors Flee U.S. As Dollar Slides") == ["Investors Flee U.S. As Dollar Slides"]
    assert sents("Acme Inc. Shares Rise After Profit Beat") == ["Acme Inc. Shares Rise After Profit Beat"]
    # The same words in running text do split.
    assert len(sents("Money left the U.S. As the dollar slid, gold rose.")) == 2


def test_paragraph_boundaries():
    text = "Stocks rose\n\nBonds fell. Gold was flat\n  \nOil rose"
    assert sents(text) == ["Stocks rose", "Bonds fell.", "Gold was flat", "Oil rose"]
    # Wire copy: hard-wrapped lines, paragraphs marked by indentation.
    wire = "Stocks rose on\nMonday, dealers said\n    Bonds fell"
    assert sents(wire) == ["Stocks rose on\nMonday, dealers said", "Bonds fell"]
    assert sents(wire, indent_breaks=False) == [wire]


def test_overlong_stretches_are_cut_at_whitespace():
    text = " ".join(["word"] * 3000)
    spans = split_sentences(text, config=SegmentConfig(max_chars=1000))
    assert len(spans) > 10
    assert all(b - a <= 1000 for a, b in spans)
    assert all(text[a:b].split() == ["word"] * len(text[a:b].split()) for a, b in spans)


def test_empty_and_blank():
    assert split_sentences("") == []
    assert split_sentences(" \n\n\t ") == []
    assert sents("...") == ["..."]


# --- segment_documents ---------------------------------------------------------------------------------


def _doc(doc_id: str, title: str, paragraphs: list[str], captions: list[str]) -> dict:
    body = "\n\n".join(paragraphs)
    text = f"{title}\n\n{body}" if title else body
    body_start = len(title) + 2 if title else 0
    body_end = len(text)
    if captions:
        text += "\n\n" + "\n\n".join(captions)
    return {
        "doc_id": doc_id,
        "pub_date": dt.date(2024, 5, 1),
        "text": text,
        "body_start": body_start,
        "body_end": body_end,
        "title": title,
    }


def test_sentences_frame_sections_offsets_and_hashes():
    docs = pl.DataFrame(
        [
            _doc(
                "d1",
                "Acme Corp. Profit Rises. Shares Jump",
                ["Acme Corp. said profit rose 5%. Analysts cheered.", "The U.S. unit grew."],
                ["Acme's chief, Jo Lee. Photo: Reuters."],
            ),
            _doc("d2", "", ["Analysts cheered."], []),
            {
                "doc_id": "d3",
                "pub_date": None,
                "text": None,
                "body_start": None,
                "body_end": None,
                "title": None,
            },
        ]
    )
    out = segment_documents(docs)
    assert out.schema == SENTENCES.schema
    d1 = out.filter(pl.col("doc_id") == "d1")
    assert d1["sent_idx"].to_list() == list(range(d1.height))
    assert d1["section"].to_list() == ["headline"] * 2 + ["body"] * 3 + ["caption"] * 2
    assert d1["text"].to_list()[:2] == ["Acme Corp. Profit Rises.", "Shares Jump"]
    text = docs["text"][0]
    for row in d1.iter_rows(named=True):
        assert text[row["start"] : row["end"]] == row["text"]
    assert d1["start"].to_list() == sorted(d1["start"].to_list())
    body = d1.filter(pl.col("section") == "body")
    assert body["start"].min() >= docs["body_start"][0] and body["end"].max() <= docs["body_end"][0]
    assert d1.filter(pl.col("section") == "caption")["start"].min() > docs["body_end"][0]
    # Same sentence in two documents, same hash; a different sentence, a different hash.
    d2 = out.filter(pl.col("doc_id") == "d2")
    assert d2["section"].to_list() == ["body"]
    cheer = d1.filter(pl.col("text") == "Analysts cheered.")["sent_hash"][0]
    assert d2["sent_hash"][0] == cheer
    assert out["sent_hash"].n_unique() == out["text"].n_unique()
    assert out.filter(pl.col("doc_id") == "d3").height == 0


def test_sentences_frame_empty_input():
    empty = pl.DataFrame(
        schema={
            "doc_id": pl.String,
            "pub_date": pl.Date,
            "text": pl.String,
            "body_start": pl.Int32,
            "body_end": pl.Int32,
        }
    )
    out = segment_documents(empty)
    assert out.height == 0 and out.schema == SENTENCES.schema


def test_hash_normalisation_keeps_length_and_case():
    a, b = "He said \u201cyes\u201d\nto it.", 'He said "yes" to it.'
    assert normalise_sentence(a) == b and len(normalise_sentence(a)) == len(a)
    assert sentence_hash(a) == sentence_hash(b)
    assert sentence_hash("Apple rose.") != sentence_hash("apple rose.")
    assert re.fullmatch(r"[0-9a-f]{32}", sentence_hash(b))


# --- invariants --------------------------------------------------------------------------------------

_ALPHABET = st.sampled_from(
    list("abcXYZ019 .?!…,;:\"'“”’()[]-•\n\t")
    + ["U.S.", "Mr.", "Inc.", "No.", " . . . ", "\n\n", "1. ", "a) ", "LONDON (Reuters) - ", "The ", "He "]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_spans_are_ordered_stripped_and_within_paragraphs(text):
    spans = split_sentences(text)
    prev_end = 0
    for a, b in spans:
        assert prev_end <= a < b <= len(text)
        piece = text[a:b]
        assert piece == piece.strip()
        assert not re.search(r"\n[^\S\n]*\n", piece)
        prev_end = b
    # Nothing but whitespace is left out.
    covered = "".join(text[a:b] for a, b in spans)
    assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", text)
