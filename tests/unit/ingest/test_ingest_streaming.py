"""A file's output leaves the worker in parts (bounded memory), and charset decisions are recorded per document."""

import gzip
from datetime import UTC, datetime

import polars as pl
import pytest
from test_ingest_formats import AT, CFG, PARA, page, parse

from pipeline.ingest import IngestConfig, parse_file, parse_files, scan_inbox, textdump, workers
from pipeline.ingest import parse as parse_mod
from pipeline.schema import DOCUMENTS


def _dump(n: int, *, crlf: bool = False) -> bytes:
    arts = [f"Headline {i} of the dump\n\n{PARA} {i}.\n\n{PARA}\nShare" for i in range(n)]
    text = "\n\n\n".join(arts)
    return (text.replace("\n", "\r\n") if crlf else text).encode()


def _accounted(pf) -> bool:
    return pf.records == pf.documents.height + pf.rejects.filter(pl.col("record_key").is_not_null()).height


@pytest.mark.parametrize("crlf", [False, True])
def test_emitted_parts_join_to_the_same_output_as_one_piece(tmp_path, monkeypatch, crlf):
    monkeypatch.setattr(parse_mod, "FLUSH_DOCS", 7)
    data = _dump(40, crlf=crlf) + b"\n\n\n\x00\n\n\n"  # one block holding nothing: not an article
    whole = parse(tmp_path, "dump.txt", data)
    parts: list = []
    entry = scan_inbox(tmp_path)[0]
    tail = parse_file(entry, config=CFG, ingested_at=AT, emit=lambda d, r: parts.append((d, r)))
    assert len(parts) == 40 // 7  # parts of at most FLUSH_DOCS rows, the rest in the result
    assert all(d.height + r.height <= 7 for d, r in parts)
    joined = pl.concat([*(d for d, _ in parts), tail.documents])
    assert joined.equals(whole.documents)
    assert (tail.status, tail.records) == (whole.status, whole.records) == ("ok", 40)
    assert whole.documents["title"].to_list() == [f"Headline {i} of the dump" for i in range(40)]
    assert all("Share" not in t for t in whole.documents["text"].to_list())  # the interface token, file-wide


def test_a_whole_file_failure_after_parts_were_emitted_drops_them(tmp_path, monkeypatch):
    monkeypatch.setattr(parse_mod, "FLUSH_DOCS", 5)
    real = textdump.iter_articles

    def breaks_midway(blocks):
        for i, art in enumerate(real(blocks)):
            if i == 12:
                raise RuntimeError("a library failure in the middle of the file")
            yield art

    monkeypatch.setattr(textdump, "iter_articles", breaks_midway)
    (tmp_path / "dump.txt").write_bytes(_dump(30))
    calls: list = []
    pf = parse_file(scan_inbox(tmp_path)[0], config=CFG, ingested_at=AT, emit=lambda d, r: calls.append((d, r)))
    assert (pf.status, pf.reason, pf.documents.height) == ("rejected", "parse_error", 0)
    assert len(calls) == 3 and calls[-1] == (None, None)  # two parts, then: drop them


def test_worker_sends_a_large_file_in_parts_and_the_parent_joins_them(tmp_path, monkeypatch):
    n = parse_mod.FLUSH_DOCS * 2 + 300  # the worker is a fresh interpreter: the real part size applies
    (tmp_path / "big.txt").write_bytes(_dump(n))
    (tmp_path / "small.html").write_text(page())
    joined: list[int] = []
    real = workers._joined
    monkeypatch.setattr(workers, "_joined", lambda res, parts: joined.append(len(parts)) or real(res, parts))
    entries = scan_inbox(tmp_path)
    cfg = IngestConfig(workers=1, now=CFG.now)
    out = {p.rel_path: p for p in parse_files(entries, config=cfg, ingested_at=AT)}
    assert sorted(joined) == [0, 2]  # the page came whole, the dump in two parts plus its result
    big = out["big.txt"]
    assert (big.status, big.records, big.documents.height) == ("ok", n, n) and _accounted(big)
    assert big.documents["doc_id"].n_unique() == n
    assert big.documents.schema == DOCUMENTS.schema


def test_truncated_gzip_dump_keeps_articles_before_the_cut_when_streamed(tmp_path, monkeypatch):
    monkeypatch.setattr(parse_mod, "FLUSH_DOCS", 4)
    raw = gzip.compress(_dump(30))
    pf = parse(tmp_path, "dump.txt.gz", raw[: int(len(raw) * 0.8)])
    assert pf.status == "partial" and pf.reason == "truncated_gzip" and _accounted(pf)
    assert 0 < pf.documents.height < 30


# --- charset decisions per document ------------------------------------------------------------------


def test_dump_mixing_utf8_and_cp1252_flags_each_document(tmp_path):
    utf8 = f"Café au lait in Zürich\n\n{PARA} naïve.".encode()
    cp1252 = f"Smörgåsbord in Malmö\n\n{PARA} déjà.".encode("cp1252")
    ascii_ = f"Plain harbour news\n\n{PARA}".encode()
    pf = parse(tmp_path, "dump.txt", b"\n\n\n".join([utf8, cp1252, ascii_]))
    flags = dict(pf.documents.select("title", "decode_flags").iter_rows())
    assert flags["Café au lait in Zürich"] == ["mixed_encodings"]
    assert flags["Smörgåsbord in Malmö"] == ["charset_guessed", "mixed_encodings"]  # read as cp1252
    assert flags["Plain harbour news"] == ["mixed_encodings"]
    assert "mixed_encodings" in pf.decode_flags and "charset_guessed" in pf.decode_flags


def test_clean_utf8_dump_has_no_document_flags(tmp_path):
    pf = parse(tmp_path, "dump.txt", _dump(3) + "\n\n\nÄiti söi jäätelöä\n\nPitkä tarina.".encode())
    assert pf.documents["decode_flags"].to_list() == [[]] * 4 and pf.decode_flags == ()


def test_misdeclared_html_page_flags_its_document(tmp_path):
    html = page(title="Café naïve über straße").replace("<head>", '<head><meta charset="windows-1251">')
    pf = parse(tmp_path, "a.html", html.encode("utf-8"))
    assert "Café naïve über straße" in pf.documents["title"][0]
    assert pf.documents["decode_flags"].to_list() == [["charset_mismatch"]]
    honest = parse(tmp_path, "b.html", page(title="Café").encode("cp1252"))  # no declaration, not UTF-8
    assert honest.documents["decode_flags"].to_list() == [["charset_guessed"]]
    clean = parse(tmp_path, "c.html", page(title="Café").encode("utf-8"))
    assert clean.documents["decode_flags"].to_list() == [[]]


def test_warc_pages_are_flagged_one_by_one(tmp_path):
    from test_ingest_formats import make_warc

    lying = page(title="Über die Brücke").encode("utf-8")  # declared iso-8859-5 in HTTP, UTF-8 in fact
    honest = page(title="Über die Straße").encode("utf-8")
    data = make_warc(
        [
            ("https://ex.com/2024/03/05/a", "text/html; charset=iso-8859-5", "200 OK", lying),
            ("https://ex.com/2024/03/05/b", "text/html; charset=utf-8", "200 OK", honest),
        ],
        gz=False,
    )
    pf = parse(tmp_path, "a.warc", data)
    flags = dict(pf.documents.select("title", "decode_flags").iter_rows())
    assert flags == {"Über die Brücke": ["charset_mismatch"], "Über die Straße": []}, flags
    assert pf.decode_flags == ("charset_mismatch",)


def test_decode_flags_reach_the_lake(tmp_path):
    from pipeline.ingest.runner import run
    from pipeline.storage import Lake, read

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cp1252 = f"Smörgåsbord in Malmö\n\n{PARA} déjà.".encode("cp1252")
    (inbox / "dump.txt").write_bytes(f"Café in Zürich\n\n{PARA}".encode() + b"\n\n\n" + cp1252)
    lake = Lake(str(tmp_path / "lake"))
    run(inbox, lake, config=IngestConfig(workers=0, now=datetime(2025, 1, 1, tzinfo=UTC)))
    docs = read(lake, DOCUMENTS).sort("record_key")
    assert docs["decode_flags"].to_list() == [["mixed_encodings"], ["charset_guessed", "mixed_encodings"]]


def test_jsonl_line_that_is_not_utf8_is_flagged(tmp_path):
    good = f'{{"id": "a", "title": "Café", "text": "{PARA}"}}'.encode()
    legacy = f'{{"id": "b", "title": "Déjà vu", "text": "{PARA} naïve"}}'.encode("cp1252")
    pf = parse(tmp_path, "f.jsonl", good + b"\n" + legacy + b"\n")
    flags = dict(pf.documents.select("record_key", "decode_flags").iter_rows())
    assert flags == {"a": [], "b": ["charset_guessed"]}
    assert pf.documents.filter(pl.col("record_key") == "b")["title"][0] == "Déjà vu"


def test_a_file_timed_out_mid_way_is_one_reject_whatever_parts_arrived(tmp_path):
    # a limit about a third of what the dump needs: the worker has usually sent parts when it is killed.
    # Whenever it stops, the file is all of its documents or none of them (never the parts that arrived).
    n = parse_mod.FLUSH_DOCS * 4
    (tmp_path / "big.txt").write_bytes(_dump(n))
    cfg = IngestConfig(workers=1, timeout_s=0.5, now=CFG.now)
    (pf,) = parse_files(scan_inbox(tmp_path), config=cfg, ingested_at=AT)
    if pf.status == "rejected":
        assert (pf.reason, pf.documents.height, pf.rejects.height) == ("timeout", 0, 1)
    else:
        assert (pf.status, pf.documents.height) == ("ok", n) and _accounted(pf)


def test_capped_reader_reads_a_plain_file_whole_with_a_small_request(tmp_path, monkeypatch):
    data = bytes(range(256)) * 400
    p = tmp_path / "page.html"
    p.write_bytes(data)
    asked = []
    with open(p, "rb") as fh:
        real_read = fh.read
        monkeypatch.setattr(fh, "read", lambda n=-1: asked.append(n) or real_read(n), raising=False)
        stream = parse_mod.CappedReader(fh, 20 << 20, gz=False)
        assert stream.head(16) == data[:16]
        assert stream.read((20 << 20) + 1) == data
    assert max(asked) <= len(data) + 1  # not a 20 MiB buffer for a 100 kB page


def test_capped_reader_keeps_reading_a_file_that_grew(tmp_path, monkeypatch):
    data = b"<html><body>" + b"x" * 50_000 + b"</body></html>"
    p = tmp_path / "page.html"
    p.write_bytes(data)
    real_fstat = parse_mod.os.fstat

    class Shrunk:  # the size the file had when it was looked at, before it grew
        def __init__(self, st):
            self.st_size = st.st_size - 20_000

    monkeypatch.setattr(parse_mod.os, "fstat", lambda fd: Shrunk(real_fstat(fd)))
    with open(p, "rb") as fh:
        stream = parse_mod.CappedReader(fh, 20 << 20, gz=False)
        assert stream.read((20 << 20) + 1) == data


def test_capped_reader_still_refuses_more_than_the_cap(tmp_path):
    from pipeline.ingest.records import Reject

    p = tmp_path / "page.html"
    p.write_bytes(b"y" * 5000)
    with open(p, "rb") as fh, pytest.raises(Reject, match="file_too_large"):
        parse_mod.CappedReader(fh, 4096, gz=False).read(4097)
