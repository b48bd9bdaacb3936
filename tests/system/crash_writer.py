"""Child process for the crash tests: rewrites one partition again and again until killed.

Generation g writes ``g % 7 + 1`` rows whose text is ``g`` so a reader can tell which write a row came from.
Prints ``ready`` once it is about to write, then ``committed g`` after each commit.
"""

import sys
from datetime import date

import polars as pl

from pipeline.schema import SENTENCES
from pipeline.storage import Lake, write_partitions


def generation(day: date, g: int) -> pl.DataFrame:
    n = g % 7 + 1
    return pl.DataFrame(
        {"doc_id": [f"d{g}-{i}" for i in range(n)], "pub_date": [day] * n, "sent_idx": list(range(n)),
         "start": [0] * n, "end": [len(str(g))] * n, "text": [str(g)] * n, "section": ["body"] * n,
         "sent_hash": [f"h{g}"] * n},
        schema=SENTENCES.schema,
    )


if __name__ == "__main__":
    lake, day, first = Lake(sys.argv[1]), date.fromisoformat(sys.argv[2]), int(sys.argv[3])
    g = first
    print("ready", flush=True)
    while True:
        write_partitions(lake, SENTENCES, generation(day, g), dates=[day], run_id=f"gen-{g}")
        print(f"committed {g}", flush=True)
        g += 1
