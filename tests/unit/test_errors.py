"""One error root, and reject reasons as a checked vocabulary that the README documents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.errors import ConfigError, InvalidDate, MissingTable, NewslakeError, RejectReason, SchemaMismatch
from pipeline.errors import markdown as reasons_markdown

PROJECT = Path(__file__).resolve().parents[2]


def test_every_error_newslake_raises_on_purpose_has_one_root():
    from pipeline.ingest.records import Reject
    from pipeline.storage import validate_date

    for kind in (ConfigError, InvalidDate, MissingTable, SchemaMismatch, Reject):
        assert issubclass(kind, NewslakeError), kind
    with pytest.raises(NewslakeError):
        validate_date("2026-13-45")
    with pytest.raises(ValueError):  # still a ValueError for callers that expect one
        validate_date("yesterday")


def test_every_reason_code_in_the_code_is_a_documented_member():
    members = {r.value for r in RejectReason}
    used = set()
    for path in (PROJECT / "pipeline").rglob("*.py"):
        text = path.read_text()
        used |= set(re.findall(r'Reject\(\s*"([a-z_]+)"', text))
        used |= set(re.findall(r'reason="([a-z_]+)"', text))
    assert used, "the scan found no reason codes: the pattern is stale"
    assert used <= members, f"reason codes missing from RejectReason: {sorted(used - members)}"
    assert all(r.level in ("file", "record", "both") and len(r.meaning) > 10 for r in RejectReason)


def test_readme_lists_the_reasons_as_the_enum_says():
    readme = (PROJECT / "README.md").read_text()
    section = readme.split("<!-- reasons:start", 1)[1].split("-->\n", 1)[1].split("<!-- reasons:end -->")[0]
    assert section.strip() == reasons_markdown().strip(), "README reasons are stale: python -m pipeline.errors"
