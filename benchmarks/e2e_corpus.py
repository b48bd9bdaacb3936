"""Build a benchmark inbox from ../shared/corpus (never inside the repository), optionally subset and replicated.

* Reuters-21578 JSONL: records copied as they are (mapped by ``examples/wire-1987-mapping.toml``).
* BBC articles: they carry **no dates**; they are written as JSONL in the Reuters field layout (``newid``,
  ``title``, ``body`` with paragraphs as indented lines, ``date`` in Reuters' format) with **synthetic dates**
  spread evenly over the days of the Reuters stories taken, so one TOML maps both.
* The 181 extraction-benchmark HTML pages: gunzipped copies.

``--scale N`` adds N-1 replicas. Replica ``k`` moves every date ``k`` years back (JSONL dates and every 4-digit
year 1990-2029 in a page) and lightly edits the text: about 70 % of the numbers get other digits and every
sentence of five or more words loses one word. Replicas are therefore never exact copies and reuse few cached
sentences (only short ones; the hit rate is printed);
and since they sit a year apart, outside the 30-day dedup window, dedup never compares them with their
originals, so the near-duplicate share stays the corpus' own (measured and printed per size). Within one
window the edited replicas would be near-duplicates (one deleted word per two sentences keeps the Jaccard
similarity well above the threshold).
"""

from __future__ import annotations

import gzip
import json
import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
REUTERS = "reuters21578.jsonl"
BBC = "bbc_fulltext.jsonl"
HTML_DIR = "extraction-benchmark/html"
_FIRST, _LAST = date(1987, 2, 26), date(1987, 10, 20)
_MON = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_NUM = re.compile(r"\d+")
_SENT = re.compile(r"((?<=[.!?])\s+)")  # captured: separators (newlines, indents) survive
_YEAR_HTML = re.compile(rb"(?<!\d)(199\d|20[0-2]\d)(?!\d)")
_P_TEXT = re.compile(rb"(<p(?:\s[^>]*)?>)([^<]{40,})")


@dataclass
class InboxStats:
    """What was written: documents (records/pages) and whitespace words per source."""

    docs: dict[str, int] = field(default_factory=dict)
    words: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0

    @property
    def total_docs(self) -> int:
        return sum(self.docs.values())

    @property
    def total_words(self) -> int:
        return sum(self.words.values())

    def add(self, source: str, docs: int, words: int) -> None:
        self.docs[source] = self.docs.get(source, 0) + docs
        self.words[source] = self.words.get(source, 0) + words


def corpus_present(root: Path | None = None) -> bool:
    root = root or CORPUS
    return (root / REUTERS).is_file() and (root / BBC).is_file() and (root / HTML_DIR).is_dir()


def _pick(n_total: int, n_keep: int, rng: random.Random) -> list[int]:
    """A deterministic, sorted sample of positions (all when n_keep >= n_total)."""
    if n_keep >= n_total:
        return list(range(n_total))
    return sorted(rng.sample(range(n_total), n_keep))


def _edit_text(text: str, rng: random.Random) -> str:
    """Light edits: other digits for most numbers, one word dropped from every sentence of 5+ words (so a
    replica reuses almost no cached sentence: the entity cache is keyed by sentence hash)."""
    text = _NUM.sub(lambda m: "".join(rng.choice("0123456789") for _ in m.group())
                    if rng.random() < 0.7 else m.group(), text)
    out = []
    for i, part in enumerate(_SENT.split(text)):
        words = part.split(" ")
        if i % 2 == 0 and len(words) > 4:
            del words[rng.randrange(1, len(words) - 1)]
        out.append(" ".join(words))
    return "".join(out)


def _edit_page(raw: bytes, years: int, rng: random.Random) -> bytes:
    """Every year 1990-2029 moved ``years`` back (dates follow), light edits in paragraph text."""
    raw = _YEAR_HTML.sub(lambda m: str(int(m.group()) - years).encode(), raw)
    return _P_TEXT.sub(lambda m: m.group(1) + _edit_text(m.group(2).decode("utf-8", "replace"), rng).encode(), raw)


def _shift_reuters_date(raw: str | None, years: int) -> str | None:
    if not raw or not years:
        return raw
    return re.sub(r"-(\d{4})\b", lambda m: f"-{int(m.group(1)) - years}", raw, count=1)


def _reuters_date(d: date, seconds: int) -> str:
    hms = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{d.day:02d}-{_MON[d.month - 1]}-{d.year} {hms}.00"


def _words(*parts: str | None) -> int:
    return sum(len(p.split()) for p in parts if p)


def _write_jsonl(dest: Path, stem: str, records: list[dict], shard: int) -> int:
    n = 0
    for i in range(0, len(records), shard):
        path = dest / f"{stem}-{i // shard:03d}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[i : i + shard]))
        n += 1
    return n


def _day_key(raw: str | None) -> tuple:
    """Sort key of a raw Reuters date (malformed ones last)."""
    try:
        d, m, y = (raw or "").split(" ")[0].split("-")
        return (0, int(y), _MON.index(m.upper()[:3]) + 1, int(d))
    except (ValueError, IndexError):
        return (1, 0, 0, 0)


def build_inbox(dest: Path, *, docs: int | None = None, fraction: float | None = None, scale: int = 1,
                seed: int = 8, shard: int = 2000, by_day: bool = True, root: Path = CORPUS) -> InboxStats:
    """Write the benchmark inbox into ``dest``; return counts.

    Parameters
    ----------
    docs, fraction : int or float, optional
        Base size: this many documents (or this share of the corpus), taken from each source in proportion
        to its size. Default: the whole corpus (23,984 documents).
    by_day : bool
        Take Reuters stories by whole days, earliest first (BBC dates then spread over those days); else a
        random sample of records, which spreads a small base over ~240 sparse days (many Dagster runs).
    scale : int
        Copies of the base set: the base plus ``scale - 1`` edited replicas, each a year earlier.
    shard : int
        Records per JSONL file: a daily feed arrives as many files, and ingestion parses files in parallel.
    """
    dest.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    reuters = (root / REUTERS).read_text().splitlines()
    bbc = (root / BBC).read_text().splitlines()
    pages = sorted((root / HTML_DIR).glob("*.html.gz"))
    total = len(reuters) + len(bbc) + len(pages)
    share = 1.0 if docs is None and fraction is None else (fraction if fraction is not None else docs / total)
    share = min(1.0, share)
    n_r = round(len(reuters) * share)
    if by_day:  # whole days, earliest first: what an archive of some days looks like
        keys = [_day_key(json.loads(line).get("date")) for line in reuters]
        keep_r = sorted(sorted(range(len(reuters)), key=keys.__getitem__)[:n_r])
        days = sorted({keys[i] for i in keep_r if keys[i][0] == 0})
        first = date(*days[0][1:]) if days else _FIRST
        span = ((date(*days[-1][1:]) - first).days if days else (_LAST - _FIRST).days)
    else:  # a random sample of records: spreads thinly over every day of the period
        keep_r, first, span = _pick(len(reuters), n_r, rng), _FIRST, (_LAST - _FIRST).days
    keep_b = _pick(len(bbc), round(len(bbc) * share), rng)
    keep_h = _pick(len(pages), max(1, round(len(pages) * share)), rng)
    stats = InboxStats()
    for k in range(scale):
        erng = random.Random(seed * 1000 + k)
        recs = []
        for i in keep_r:
            r = json.loads(reuters[i])
            if k:
                r["newid"] = f"{r['newid']}-r{k}"
                r["date"] = _shift_reuters_date(r.get("date"), k)
                for f in ("title", "body", "unproc_text"):
                    if r.get(f):
                        r[f] = _edit_text(r[f], erng)
            recs.append(r)
            stats.add("reuters", 1, _words(r.get("title"), r.get("body") or r.get("unproc_text")))
        stats.files += _write_jsonl(dest, f"reuters-r{k}", recs, shard)
        recs = []
        for j, i in enumerate(keep_b):
            b = json.loads(bbc[i])
            day = first + timedelta(days=span * j // max(1, len(keep_b) - 1))
            body = "\n    ".join(p.strip() for p in b["text"].split("\n\n") if p.strip())
            title = b["title"]
            if k:
                body, title = _edit_text(body, erng), _edit_text(title, erng)
                day = day.replace(year=day.year - k) if not (day.month == 2 and day.day == 29) else day
            recs.append({"newid": f"bbc-{b['id']}-r{k}", "title": title, "body": body,
                         "date": _reuters_date(day, 6 * 3600 + (j * 997) % 50000), "text_type": "NORM"})
            stats.add("bbc", 1, _words(title, body))
        stats.files += _write_jsonl(dest, f"bbc-r{k}", recs, shard)
        for i in keep_h:
            raw = gzip.decompress(pages[i].read_bytes())
            if k:
                raw = _edit_page(raw, k, erng)
            (dest / f"page-r{k}-{pages[i].name[:-3]}").write_bytes(raw)
            stats.files += 1
            stats.add("html", 1, 0)  # words of pages are counted from the lake (extraction decides them)
    stats.bytes = sum(p.stat().st_size for p in dest.iterdir())
    return stats


def new_day_records(n: int, *, day: date = date(1987, 10, 26), seed: int = 99, root: Path = CORPUS) -> str:
    """JSONL of ``n`` edited Reuters/BBC stories all dated ``day`` (after the corpus' last day, so a run that
    adds it reprocesses only that day): the "one new day" of the incremental measurement."""
    rng = random.Random(seed)
    lines = (root / REUTERS).read_text().splitlines()
    out = []
    for j, i in enumerate(_pick(len(lines), n, rng)):
        r = json.loads(lines[i])
        for f in ("title", "body", "unproc_text"):
            if r.get(f):
                r[f] = _edit_text(r[f], rng)
        r["newid"], r["date"] = f"newday-{r['newid']}", _reuters_date(day, (j * 37) % 86400)
        out.append(json.dumps(r, ensure_ascii=False) + "\n")
    return "".join(out)


def reuters_text(r: dict) -> tuple[str, str]:
    """Title and body of a record as the reference script reads them (body, else unprocessed text)."""
    return r.get("title") or "", r.get("body") or r.get("unproc_text") or ""
