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


# --- what news sites publish beyond wire copy ----------------------------------------------------------


def test_nested_quotes():
    text = "She said: \"He told me 'Go home.' I did.\" Then she left."
    assert sents(text) == ["She said: \"He told me 'Go home.'", 'I did."', "Then she left."]
    assert sents("“It’s ‘over,’ he said,” she recalled. Nobody believed it.") == [
        "“It’s ‘over,’ he said,” she recalled.",
        "Nobody believed it.",
    ]


def test_interview_turns():
    text = "Q: Why did you run? A: Because I could. Q: And now? A: I rest."
    assert sents(text) == ["Q: Why did you run?", "A: Because I could.", "Q: And now?", "A: I rest."]
    # Without punctuation before the next turn, the turn label still starts a sentence.
    assert sents("Q: When do you start A: Monday") == ["Q: When do you start", "A: Monday"]
    # "A:" without a question before it is an ordinary word.
    assert sents("Plan A: sell the bonds.") == ["Plan A: sell the bonds."]


def test_bullet_and_numbered_lists_on_lines():
    text = "Key points:\n• Rates rose\n• Stocks fell\n1. Buy gold\n2. Sell oil"
    assert sents(text) == ["Key points:", "• Rates rose", "• Stocks fell", "1. Buy gold", "2. Sell oil"]


def test_headlines_with_colons_stay_one_sentence():
    assert sents("Q&A: Why interest rates are rising") == ["Q&A: Why interest rates are rising"]
    assert sents("ANALYSIS: Europe Braces for a Cold Winter") == ["ANALYSIS: Europe Braces for a Cold Winter"]
    assert sents("Brexit: What happens next?") == ["Brexit: What happens next?"]
    # A Q&A headline in a document keeps its kicker; the body is split as usual.
    doc = "Q&A: What the vote means\n\nVoters go to the polls. Results come Monday."
    assert sents(doc) == ["Q&A: What the vote means", "Voters go to the polls.", "Results come Monday."]


def test_lowercase_sentence_starts():
    text = "the food was cold. we sent it back. will we return? no way!"
    assert sents(text) == ["the food was cold.", "we sent it back.", "will we return?", "no way!"]
    # Abbreviations, brands and quoted or bracketed questions still run on.
    assert sents("Ships left the U.S. yesterday. Yahoo! is a brand.") == [
        "Ships left the U.S. yesterday.",
        "Yahoo! is a brand.",
    ]
    assert sents('"Why?" he asked. (Really?) not sure.') == ['"Why?" he asked.', "(Really?) not sure."]


def test_missing_final_punctuation():
    # A heading or review title without a full stop, then a clause that opens with a pronoun.
    assert sents("Fantastic seaside cottage We had a wonderful week there.") == [
        "Fantastic seaside cottage",
        "We had a wonderful week there.",
    ]
    # Paragraph ends need no punctuation; "I" and "The" mid-sentence are not openers.
    assert sents("Markets rallied\n\nThe Times reported that I was wrong") == [
        "Markets rallied",
        "The Times reported that I was wrong",
    ]
    assert sents("He reads The Economist every week.") == ["He reads The Economist every week."]


def test_emoticons_close_sentences():
    assert sents("I love her. :) She is a star :-) we adopted her") == [
        "I love her. :)",
        "She is a star :-)",
        "we adopted her",
    ]
    # A number in parentheses or a list marker is no smiley.
    assert sents("He scored 8) and left.") == ["He scored 8) and left."]


def test_urls():
    text = "Read more at https://example.com/a.b?x=1. Then vote at www.example.org/poll If you can"
    assert sents(text) == [
        "Read more at https://example.com/a.b?x=1.",
        "Then vote at www.example.org/poll",
        "If you can",
    ]
    assert sents("See http://a.example.com/x http://b.example.com/y") == [
        "See http://a.example.com/x",
        "http://b.example.com/y",
    ]


def test_citation_markers_stay_with_their_sentence():
    assert sents("He studied at Harrow. [27] Then he left for Cambridge.") == [
        "He studied at Harrow. [27]",
        "Then he left for Cambridge.",
    ]


# --- languages -------------------------------------------------------------------------------------------


def lang_sents(text: str, language: str | None) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text, language=language)]


def test_german_ordinals_and_abbreviations():
    assert lang_sents("Am 3. Oktober 2020 feierte das Land. Das Fest war groß.", "de") == [
        "Am 3. Oktober 2020 feierte das Land.",
        "Das Fest war groß.",
    ]
    assert lang_sents("Der 2. Weltkrieg endete 1945. Danach kam der Wiederaufbau.", "de") == [
        "Der 2. Weltkrieg endete 1945.",
        "Danach kam der Wiederaufbau.",
    ]
    assert lang_sents("Er kaufte z. B. Äpfel bzw. Birnen, ca. 5 kg. Dr. Müller sagte »Ja.« Dann ging er.", "de") == [
        "Er kaufte z. B. Äpfel bzw. Birnen, ca. 5 kg.",
        "Dr. Müller sagte »Ja.«",
        "Dann ging er.",
    ]
    assert lang_sents("„Kommst du?“ Er nickte. Siehe S. 12 und Nr. 4.", "de") == [
        "„Kommst du?“",
        "Er nickte.",
        "Siehe S. 12 und Nr. 4.",
    ]
    # English rules read "3. Oktober" as a sentence end: the language matters.
    assert lang_sents("Am 3. Oktober kam er.", "en") == ["Am 3.", "Oktober kam er."]
    assert lang_sents("Am 3. Oktober kam er.", "de-AT") == ["Am 3. Oktober kam er."]


def test_french_titles_ordinals_and_quotes():
    text = "M. Dupont est arrivé le 1er janvier. Il a dit « Bonjour. » Puis Mme Durand est partie, etc. Le soir."
    assert lang_sents(text, "fr") == [
        "M. Dupont est arrivé le 1er janvier.",
        "Il a dit « Bonjour. »",
        "Puis Mme Durand est partie, etc.",
        "Le soir.",
    ]
    assert lang_sents("Vraiment ? Oui ! C'était en 52 av. J.-C. Tout est fini.", "fr") == [
        "Vraiment ?",
        "Oui !",
        "C'était en 52 av. J.-C.",
        "Tout est fini.",
    ]


def test_unknown_languages_get_neutral_rules():
    # No word lists: initials never end a sentence, ordinary full stops do, nothing English is assumed.
    for language in ("xx", None, "sw"):
        assert lang_sents("J. Kamau alifika. Walikula chakula.", language) == ["J. Kamau alifika.", "Walikula chakula."]
    # English-only rules (lower-case starts) are off for other languages.
    assert lang_sents("kwa hiyo. sasa ni wakati", "sw") == ["kwa hiyo. sasa ni wakati"]


def test_segment_documents_uses_the_language_column():
    base = _doc("d", "", ["Am 3. Oktober kam er. Es regnete."], [])
    docs = pl.DataFrame([{**base, "doc_id": f"d{i}", "language": lang} for i, lang in enumerate(["de", "en", None])])
    out = segment_documents(docs)
    per_doc = {d: out.filter(pl.col("doc_id") == d)["text"].to_list() for d in ("d0", "d1", "d2")}
    assert per_doc["d0"] == ["Am 3. Oktober kam er.", "Es regnete."]
    assert per_doc["d1"] == ["Am 3.", "Oktober kam er.", "Es regnete."]
    assert per_doc["d2"] == per_doc["d1"]  # null language: the default, English
    # Without the column, the keyword decides for all documents.
    german = segment_documents(docs.drop("language"), language="de")
    assert german.filter(pl.col("doc_id") == "d1")["text"].to_list() == per_doc["d0"]
