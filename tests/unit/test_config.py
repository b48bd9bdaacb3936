"""One settings object: flag > environment > settings file > defaults, and today's ingest TOML still read."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "wire-1987-mapping.toml"


def test_precedence_flag_over_environment_over_file_over_defaults(tmp_path):
    cfg = tmp_path / "newslake.toml"
    cfg.write_text('lake = "from-file"\ninbox = "inbox-from-file"\n[dedup]\nwindow_days = 7\n')
    env = {"NEWSLAKE_CONFIG": str(cfg), "NEWSLAKE_LAKE": "from-env"}
    s = Settings.load(environ=env)
    assert (s.lake, s.inbox, s.dedup.window_days) == ("from-env", "inbox-from-file", 7)
    assert Settings.load(environ=env, lake="from-flag").lake == "from-flag"
    assert Settings.load(environ={}).lake == "data/lake" and Settings.load(environ={}).dedup.window_days == 30


def test_the_older_ingest_only_format_is_read_as_the_ingest_section():
    s = Settings.load(config_file=str(EXAMPLE), environ={})
    assert s.ingest.jsonl.id == "newid" and s.ingest.jsonl.unwrap_lines is True
    assert Settings.load(environ={"NEWSLAKE_INGEST_CONFIG": str(EXAMPLE)}).ingest.jsonl.id == "newid"


def test_unlimited_window_has_one_spelling_and_unknown_keys_name_themselves(tmp_path):
    cfg = tmp_path / "a.toml"
    cfg.write_text('[dedup]\nwindow_days = "unlimited"\n')
    assert Settings.from_toml(cfg).dedup.window_days is None
    cfg.write_text("[dedup]\nwindow = 3\n")
    with pytest.raises(ConfigError, match="window"):
        Settings.from_toml(cfg)
    with pytest.raises(ConfigError, match="cannot read"):
        Settings.from_toml(tmp_path / "missing.toml")


def test_digest_changes_with_outputs_not_with_paths_or_workers(tmp_path):
    base = Settings.load(environ={})
    assert Settings.load(environ={"NEWSLAKE_LAKE": "/elsewhere", "NEWSLAKE_WORKERS": "1"}).digest() == base.digest()
    cfg = tmp_path / "b.toml"
    cfg.write_text('[dedup]\nverdict = "rules"\nthreshold = 0.6\n')
    changed = Settings.load(config_file=str(cfg), environ={})
    assert changed.digest() != base.digest()
    # each stage records the digest of its own section: a dedup option changes only dedup's
    assert changed.digest("dedup") != base.digest("dedup")
    for stage in ("ingest", "sentences", "entities"):
        assert changed.digest(stage) == base.digest(stage)
    fewer = Settings.load(environ={"NEWSLAKE_WORKERS": "1"})
    assert fewer.digest("entities") == base.digest("entities") and fewer.digest("ingest") == base.digest("ingest")
    with pytest.raises(ConfigError, match="dedupe"):
        base.digest("dedupe")
    with pytest.raises(ConfigError):
        Settings.load(environ={"NEWSLAKE_WORKERS": "many"})
