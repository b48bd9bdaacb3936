"""Peak RSS of an ingest worker per hostile input, against the file's size (issue 15: memory bounded per file).

Each case runs in a fresh process that parses one file through the real worker pool (``workers=1``) and
reads the peak RSS of its children (``RUSAGE_CHILDREN``: the worker, after it exits). The reference, measured
in the same run, is the same worker parsing a small ordinary page: the constant every worker costs (the
interpreter, trafilatura, the language model). The bound asked for: peak <= 2 x file size + a constant (that
reference plus the 32 MiB floor of the gzip running cap).

    python -m benchmarks.ingest_memory            # 200 MB random files and gzip bombs (~2 minutes)
    python -m benchmarks.ingest_memory --mb 50    # smaller random files
    python -m benchmarks.ingest_memory --only dump  # the reference and the cases whose label holds "dump"

The 50 MB text dump is a genuine dump's shape (tens of thousands of articles): its worker sends the
documents to the parent in parts as it parses, so its peak is the file's bytes plus one part, not the whole
output. Exit status 1 when any case is over its bound, or when a file's records are not its documents plus
its rejects.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
MiB = 1 << 20


def _random_file(path: Path, size: int) -> None:
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(left, 8 * MiB)
            fh.write(os.urandom(n))
            left -= n


def _bomb(path: Path, size: int, unit: bytes) -> None:
    block = unit * (MiB // len(unit))
    with gzip.open(path, "wb", compresslevel=6) as fh:
        for _ in range(size // len(block)):
            fh.write(block)


def _dump(path: Path, size: int) -> None:
    """A plausible text dump: articles of sentences from a small vocabulary, blank-line separated."""
    import random

    rng = random.Random(1)
    words = [
        "harbour",
        "council",
        "budget",
        "minister",
        "river",
        "school",
        "market",
        "police",
        "court",
        "weather",
        "rail",
        "energy",
        "water",
        "the",
        "a",
        "of",
        "and",
        "in",
        "to",
        "on",
        "for",
        "with",
        "said",
        "new",
        "year",
        "city",
        "people",
        "week",
    ]
    with open(path, "w") as fh:
        n = 0
        while n < size:
            title = " ".join(rng.choice(words) for _ in range(6)).capitalize()
            paras = [" ".join(rng.choice(words) for _ in range(60)).capitalize() + "." for _ in range(4)]
            art = title + "\n\n" + "\n\n".join(paras) + "\n\n\n"
            fh.write(art)
            n += len(art)


def _page(path: Path) -> None:
    para = "The council met on Tuesday evening and debated the new budget for the harbour district at length. "
    path.write_text(
        f"<html><head><title>Budget</title></head><body><article><h1>Budget</h1><p>{para * 8}</p>"
        f"<p>{para * 6}</p></article></body></html>"
    )


CASES = {
    "reference: small HTML page": ("page.html", lambda p, mb: _page(p)),
    "random bytes .txt": ("random.txt", lambda p, mb: _random_file(p, mb * MiB)),
    "text dump .txt (articles, 50 MB)": ("dump.txt", lambda p, mb: _dump(p, 50 * MiB)),
    "random bytes .html": ("random.html", lambda p, mb: _random_file(p, mb * MiB)),
    "random bytes .jsonl": ("random.jsonl", lambda p, mb: _random_file(p, mb * MiB)),
    "random bytes .warc": ("random.warc", lambda p, mb: _random_file(p, mb * MiB)),
    "gzip bomb .txt.gz (4 GiB of text lines)": ("bomb.txt.gz", lambda p, mb: _bomb(p, 4096 * MiB, b"All work. ")),
    "gzip bomb .jsonl.gz (4 GiB of one line)": ("bomb.jsonl.gz", lambda p, mb: _bomb(p, 4096 * MiB, b"a")),
    "gzip bomb .html.gz (4 GiB of zeros)": ("bomb.html.gz", lambda p, mb: _bomb(p, 4096 * MiB, b"\0")),
}


def _child(path: str) -> None:
    """Parse one file in one worker; print JSON with the outcome and the children's peak RSS."""
    from datetime import UTC, datetime

    from pipeline.ingest import IngestConfig, parse_files, scan_inbox

    folder = Path(path).parent
    entry = next(e for e in scan_inbox(folder) if e.rel_path == Path(path).name)
    t = time.monotonic()
    out = list(parse_files([entry], config=IngestConfig(workers=1, timeout_s=600), ingested_at=datetime.now(UTC)))
    secs = time.monotonic() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    pf = out[0]
    accounted = pf.records == pf.documents.height + pf.rejects.filter(pf.rejects["record_key"].is_not_null()).height
    print(
        json.dumps(
            {
                "status": pf.status,
                "reason": pf.reason,
                "peak": peak,
                "secs": secs,
                "documents": pf.documents.height,
                "accounted": accounted or pf.records == 0,
            }
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=200, help="size of the random files (default: %(default)s)")
    ap.add_argument("--only", help="run the reference and the cases whose label contains this text")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, (name, make)) in enumerate(CASES.items()):
            if i and args.only and args.only not in label:
                continue
            folder = Path(tmp) / name.replace(".", "_")
            folder.mkdir()
            path = folder / name
            make(path, args.mb)
            size = path.stat().st_size
            p = subprocess.run(
                [sys.executable, __file__, "--child", str(path)],
                capture_output=True,
                text=True,
                cwd=PROJECT,
                env={**os.environ, "PYTHONPATH": str(PROJECT)},
            )
            if p.returncode:
                print(p.stderr[-2000:], file=sys.stderr)
                return 1
            res = json.loads(p.stdout.strip().splitlines()[-1])
            rows.append((label, size, res))
            path.unlink()
    from pipeline.ingest.parse import BOMB_FLOOR

    base = rows[0][2]["peak"]
    print(
        f"{'input':44} {'file MB':>9} {'peak RSS MB':>12} {'over ref MB':>12} {'bound MB':>9} {'ok':>3} "
        f"{'secs':>6} {'docs':>7}  outcome"
    )
    failed = []
    for label, size, r in rows:
        bound = 2 * size + base + BOMB_FLOOR
        over = r["peak"] - base
        ok = "yes" if r["peak"] <= bound else "NO"
        if ok == "NO" or not r["accounted"]:
            failed.append(label)
        print(
            f"{label:44} {size / MiB:9.1f} {r['peak'] / MiB:12.0f} {over / MiB:12.0f} {bound / MiB:9.0f} "
            f"{ok:>3} {r['secs']:6.1f} {r['documents']:7d}  {r['status']}/{r['reason']}"
            + ("" if r["accounted"] else "  records != documents + rejects")
        )
    print(
        f"bound = 2 x file size + the reference worker's peak ({base / MiB:.0f} MB, measured in this run) + the "
        f"gzip running cap's floor ({BOMB_FLOOR / MiB:.0f} MB)"
    )
    if failed:
        print("FAILED (over the bound or not accounted for): " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
        sys.exit(0)
    sys.exit(main())
