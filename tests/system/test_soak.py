"""A reduced soak (the full 30 days is `python benchmarks/soak.py`)."""


import pytest


@pytest.mark.slow
def test_daily_runs_with_late_data_and_reruns_equal_a_batch_rebuild(tmp_path, monkeypatch):
    from benchmarks import soak

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    report = soak.soak(5, tmp_path, verbose=False)
    assert report["duplicates"] >= 4  # the daily wire copies were found
    assert report["rejects"] >= 1
    rss = report["rss_mb"]
    assert rss[-1] - rss[1] < 300, f"memory grew over the soak: {rss}"
