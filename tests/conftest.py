"""Shared fixtures: a throwaway lake and inbox, and an isolated Dagster home."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SAMPLE_INBOX = PROJECT / "data" / "inbox"


@pytest.fixture
def lake_dir(tmp_path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def sample_inbox(tmp_path) -> Path:
    """A private copy of the committed sample inbox (tests may add files to it)."""
    dst = tmp_path / "inbox"
    shutil.copytree(SAMPLE_INBOX, dst)
    return dst


@pytest.fixture
def dagster_env(tmp_path, monkeypatch, lake_dir, sample_inbox):
    """Environment the Definitions resolve their resources from, plus a fresh Dagster home."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT / "assets" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("NEWSLAKE_LAKE", str(lake_dir))
    monkeypatch.setenv("NEWSLAKE_INBOX", str(sample_inbox))
    monkeypatch.setenv("NEWSLAKE_INGEST_CONFIG", "")
    return {"home": home, "lake": lake_dir, "inbox": sample_inbox}
