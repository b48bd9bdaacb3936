"""Ingestion speed and memory: documents/s and peak RSS, against a plain trafilatura loop in the same run.

* HTML: the 181 extraction-benchmark pages (``.html.gz``) through ``parse_files`` (2 worker processes,
  worker start-up included), then the same pages copied 3x (543 files) to show that peak RSS does not grow
  with the number of files; reference: a single-process ``trafilatura.bare_extraction`` loop over the same
  pages, already decompressed and decoded (only extraction is timed, which favours the reference).
* Reuters: the 21,578-record JSONL export through the documented mapping (one file = one worker).

    python benchmarks/ingest_speed.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import gzip
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REUTERS_MAPPING = dict(
    id="newid",
    title="title",
    text="body|unproc_text",
    date="date",
    date_format="%d-%b-%Y %H:%M:%S%.f",
    paragraph_pattern=r"\n {3,}",
    unwrap_lines=True,
)


def _rss_mib(who) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def run(entries, config) -> tuple[float, int, int]:
    from pipeline.ingest import parse_files

    t = time.perf_counter()
    docs = rejected = 0
    for pf in parse_files(entries, config=config, ingested_at=datetime.now(UTC)):
        docs += pf.documents.height
        rejected += pf.rejects.height
    return time.perf_counter() - t, docs, rejected


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    bench = Path(args.shared) / "corpus/extraction-benchmark/html"
    reuters = Path(args.shared) / "corpus/reuters21578.jsonl"
    if not bench.exists():
        print(f"{bench} not found: nothing measured (the benchmark data lives in ../shared)")
        return 0
    from trafilatura import bare_extraction

    from pipeline.ingest import IngestConfig, JsonlMapping, scan_inbox
    from pipeline.ingest.decode import decode_bytes

    pages = sorted(bench.glob("*.html.gz"))
    texts = [decode_bytes(gzip.decompress(p.read_bytes()), sniff_html=True)[0] for p in pages]
    t = time.perf_counter()
    for h in texts:
        bare_extraction(h)
    ref_s = time.perf_counter() - t
    ref_rate = len(texts) / ref_s
    print(f"machine load average at start: {Path('/proc/loadavg').read_text().split()[:3]}")
    print(
        f"reference  plain bare_extraction loop, 1 process: {len(texts)} pages in {ref_s:.2f}s = {ref_rate:.1f} docs/s"
    )
    config = IngestConfig(workers=args.workers)
    with tempfile.TemporaryDirectory() as tmp:
        for copies in (1, 3):
            inbox = Path(tmp) / f"x{copies}"
            inbox.mkdir()
            for c in range(copies):
                for p in pages:
                    shutil.copyfile(p, inbox / f"{c}-{p.name}")
            entries = scan_inbox(inbox)
            secs, docs, rej = run(entries, config)
            print(
                f"newslake   parse_files HTML, {args.workers} workers, {len(entries)} files: {docs} docs, "
                f"{rej} rejects in {secs:.2f}s = {docs / secs:.1f} docs/s = {docs / secs / ref_rate:.2f}x "
                f"reference; peak RSS so far: parent {_rss_mib(resource.RUSAGE_SELF):.0f} MiB, "
                f"largest worker {_rss_mib(resource.RUSAGE_CHILDREN):.0f} MiB"
            )
    if reuters.exists():
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copyfile(reuters, Path(tmp) / "reuters21578.jsonl")
            cfg = IngestConfig(workers=args.workers, jsonl=JsonlMapping(**REUTERS_MAPPING))
            secs, docs, rej = run(scan_inbox(Path(tmp)), cfg)
            print(
                f"newslake   Reuters JSONL (1 file): {docs} docs, {rej} rejects in {secs:.2f}s = "
                f"{docs / secs:.0f} docs/s; peak RSS parent {_rss_mib(resource.RUSAGE_SELF):.0f} MiB, "
                f"largest worker {_rss_mib(resource.RUSAGE_CHILDREN):.0f} MiB"
            )
    else:
        print(f"{reuters} not found: Reuters not measured")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
