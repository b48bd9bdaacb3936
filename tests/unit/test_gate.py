"""The benchmarks' quality gate fails on a figure below its floor, and on a figure that was not printed."""

from __future__ import annotations

import tomllib

from benchmarks._common import PROJECT
from benchmarks.gate import check, parse_figures


def test_figures_are_parsed_and_compared_with_their_floors():
    out = "table...\nFIGURE ud.f1 0.91\nFIGURE wsj.f1 0.97\nnoise FIGURE x 1\n"
    figs = parse_figures(out)
    assert figs == {"ud.f1": 0.91, "wsj.f1": 0.97}
    floors = [{"script": "s", "figure": "ud.f1", "min": 0.9}, {"script": "s", "figure": "wsj.f1", "min": 0.985},
              {"script": "s", "figure": "gum.f1", "min": 0.9}]
    failures = check(floors, {"s": figs})
    assert len(failures) == 2
    assert any("wsj.f1" in f and "below" in f for f in failures)
    assert any("gum.f1" in f and "not printed" in f for f in failures)
    assert check(floors, {"s": None}) == [], "a benchmark without its data is skipped, not failed"


def test_every_floor_names_a_benchmark_that_exists():
    floors = tomllib.loads((PROJECT / "benchmarks" / "floors.toml").read_text())["floor"]
    assert floors
    for f in floors:
        assert (PROJECT / "benchmarks" / f"{f['script']}.py").exists(), f
        assert isinstance(f["min"], int | float) and f["figure"]
