"""Soak: N consecutive daily runs with late arrivals and reruns, then every invariant, then a batch rebuild.

Each simulated day drops new files into the inbox (fresh stories, a wire copy of yesterday's story under a new
headline, a template market report with other figures, one late article for three days earlier) and runs
`newslake run` in this process (through Dagster). Every fourth day also re-runs an earlier day. At the end:

* reconciliation: every file is in `files`; for every file, records = documents + record rejects;
* every dated document has exactly one `duplicates` row; every canonical one has sentences;
* the incremental lake equals a lake built in one batch run from the final inbox (same clusters, sentences,
  entities): late data and reruns change nothing;
* RSS of this process after each day (printed; the test bounds its growth).

    python -m benchmarks.soak --days 30          # full size (the CI test runs a reduced size)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
START = date(2026, 10, 1)
PEOPLE = ["Anna Berg", "Omar Haddad", "Lucia Ferri", "Kenji Sato", "Grace Mbeki", "Pavel Dvorak", "Ines Costa"]
PLACES = ["Halden", "Port Ellery", "Millbrook", "Ashford", "Lakeshore", "Northvale"]
ORGS = ["Harbour Authority", "Vale Water Board", "Baltic Skyways", "Nordic Span", "Halden Chamber of Commerce"]
TOPICS = ["a new rail link", "the school budget", "a hospital expansion", "wind farm permits", "bus fares",
          "a river clean-up", "the housing plan", "a port strike", "library hours", "road repairs"]


def story(rng: random.Random, day: date, n: int) -> dict:
    who, org, place, topic = rng.choice(PEOPLE), rng.choice(ORGS), rng.choice(PLACES), rng.choice(TOPICS)
    figure = rng.randint(2, 900)
    paras = [
        f"{who} of the {org} said on {day:%A} that {topic} in {place} would cost {figure} million euros, "
        f"more than planned in {day.year - rng.randint(1, 5)}.",
        f"The {org} will publish its full plan for {place} on {(day + timedelta(days=rng.randint(3, 20))):%B %d}. "
        f"Residents have until then to send comments, {who.split()[1]} said.",
        f"Critics in {place} said the estimate for {topic} had risen {rng.randint(2, 9)} times since story {n}.",
    ]
    return {"id": f"{day:%Y%m%d}-{n}", "title": f"{org} sets out {topic} for {place}",
            "text": "\n\n".join(paras), "date": f"{day.isoformat()}T{rng.randint(6, 20):02d}:15:00Z"}


def market_report(day: date, rng: random.Random) -> dict:
    wheat, maize = 200 + rng.randint(0, 40) + 0.25, 180 + rng.randint(0, 40) + 0.75
    return {"id": f"{day:%Y%m%d}-mkt", "title": "Grain prices in quiet trade",
            "text": f"Wheat closed at {wheat:.2f} euros a tonne on the Halden exchange, maize at {maize:.2f} "
                    "euros, in thin trade ahead of the monthly crop report.\n\nTraders said the market was "
                    "waiting for the ministry's estimate of the harvest.",
            "date": f"{day.isoformat()}T15:30:00Z"}


def drop_day(inbox: Path, i: int, rng: random.Random, previous: dict | None) -> dict:
    day = START + timedelta(days=i)
    records = [story(rng, day, n) for n in range(4)] + [market_report(day, rng)]
    if previous is not None:  # a wire copy of yesterday's first story, new headline, a day later
        copy = dict(previous, id=f"{day:%Y%m%d}-copy", title="WIRE: " + previous["title"],
                    date=f"{day.isoformat()}T05:00:00Z")
        records.append(copy)
    if i >= 3:  # a late article for three days ago
        records.append(story(rng, day - timedelta(days=3), 99))
    (inbox / f"feed-{day.isoformat()}.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    if i % 5 == 2:  # one bad file now and then
        (inbox / f"broken-{i}.html").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    return records[0]


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(argv: list[str]) -> None:
    from newslake.cli import main

    code = main([*argv, "--no-progress"])
    if code != 0:
        raise RuntimeError(f"newslake {' '.join(argv)} failed with {code}")


def tables(lake_root: str) -> dict:
    import polars as pl

    from pipeline import storage
    from pipeline.schema import DUPLICATES, ENTITIES, SENTENCES
    from pipeline.storage import Lake

    lake = Lake(lake_root)
    out = {}
    for t, cols in ((DUPLICATES, ["doc_id", "cluster_id", "canonical_doc_id", "method"]),
                    (SENTENCES, ["doc_id", "sent_idx", "start", "end", "section", "sent_hash"]),
                    (ENTITIES, ["doc_id", "start", "end", "label", "norm"])):
        out[t.name] = storage.read(lake, t, columns=cols).sort(pl.all())
    return out


def check_invariants(lake_root: str) -> dict:
    import polars as pl

    from pipeline import storage
    from pipeline.ingest import unreconciled
    from pipeline.schema import DOCUMENTS, DUPLICATES, FILES, REJECTS, SENTENCES
    from pipeline.storage import Lake

    lake = Lake(lake_root)
    files, docs = storage.read(lake, FILES), storage.read(lake, DOCUMENTS)
    rejects, dups = storage.read(lake, REJECTS), storage.read(lake, DUPLICATES)
    lost = unreconciled(files, docs, rejects)
    assert lost.height == 0, f"reconciliation broken for {lost['path'].to_list()}"
    dated = docs.filter(pl.col("pub_date").is_not_null())
    assert docs["doc_id"].n_unique() == docs.height, "duplicate doc ids"
    assert dated.join(dups, on="doc_id", how="anti").height == 0, "a dated document has no duplicates row"
    assert dups["doc_id"].n_unique() == dups.height == dated.height
    canon = dups.filter(pl.col("is_canonical"))
    sents = storage.read(lake, SENTENCES, columns=["doc_id"])
    assert canon.join(sents, on="doc_id", how="anti").height == 0, "a canonical document has no sentences"
    return {"files": files.height, "documents": docs.height, "duplicates": dups.height - canon.height,
            "rejects": rejects.height}


def soak(days: int, workdir: Path, *, seed: int = 11, verbose: bool = True) -> dict:
    inbox, lake, home = workdir / "inbox", str(workdir / "lake"), workdir / "home"
    inbox.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    common = ["--inbox", str(inbox), "--lake", lake, "--home", str(home)]
    rng, previous, rss, t0 = random.Random(seed), None, [], time.monotonic()
    for i in range(days):
        previous = drop_day(inbox, i, rng, previous)
        run(["run", *common])
        if i % 4 == 3:  # a rerun of an earlier day, as an operator would after a fix
            run(["run", *common, "--skip-ingest", "--date", (START + timedelta(days=i - 2)).isoformat()])
        rss.append(rss_mb())
        if verbose:
            print(f"day {i + 1}/{days}: rss {rss[-1]:.0f} MB, {time.monotonic() - t0:.0f}s", file=sys.stderr)
    report = check_invariants(lake)
    incremental = tables(lake)
    batch_lake = str(workdir / "batch-lake")
    run(["run", "--inbox", str(inbox), "--lake", batch_lake, "--home", str(workdir / "batch-home")])
    batch = tables(batch_lake)
    for name, frame in incremental.items():
        assert frame.equals(batch[name]), f"{name}: incremental lake differs from a batch rebuild"
    report.update(days=days, rss_mb=[round(r) for r in rss], seconds=round(time.monotonic() - t0, 1))
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = soak(args.days, Path(tmp))
    print(json.dumps(report, indent=1))
    print(f"RSS first/last day: {report['rss_mb'][0]} / {report['rss_mb'][-1]} MB")


if __name__ == "__main__":
    main()
