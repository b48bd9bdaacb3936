"""Publication-date parsing, sanity flags and precedence; results must not depend on the machine's zone."""

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipeline.ingest.dates import Candidate, file_name_date, found_in, parse_raw, resolve, url_date

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[3]

# raw string, expected UTC pub_date (None = no trustworthy date), expected flag (or None)
MIDNIGHT_CASES = [
    ("2024-03-05T23:30:00-05:00", "2024-03-06", None),
    ("2024-03-05T23:30-05:00", "2024-03-06", None),
    ("2024-03-05T00:30:00+09:00", "2024-03-04", None),
    ("2024-03-05T03:00:00+05:30", "2024-03-04", None),
    ("2024-03-05T06:00:00+05:30", "2024-03-05", None),
    ("2024-03-05T23:59:59Z", "2024-03-05", None),
    ("2024-12-31T22:00:00-03:00", "2025-01-01", None),
    ("Tue, 05 Mar 2024 23:30:00 -0500", "2024-03-06", None),
    ("2024-03-05", "2024-03-05", "date_only"),
    ("March 5, 2024", "2024-03-05", "date_only"),
    ("5 March 2024 10:30 pm", "2024-03-05", "naive_time"),
    ("05.03.2024", "2024-03-05", "date_only"),
    ("1987-02-26 15:01:01", "1987-02-26", "naive_time"),
    ("2024-13-45", None, "impossible"),
    ("2023-02-29", None, "impossible"),
    ("2024-03-05T25:10:00Z", None, "impossible"),
    ("12/11/2023", None, "ambiguous_dmy"),
    ("25/11/2023", "2023-11-25", None),
    ("11/25/2023", "2023-11-25", None),
    ("2031-01-01", None, "future"),
    ("yesterday-ish", None, "unparsed"),
]


def _resolve_rows(cases):
    out = []
    for raw, _, _ in cases:
        r = resolve([Candidate(raw, "metadata")], now=NOW)
        out.append(
            [
                str(r.pub_date) if r.pub_date else None,
                r.date_source,
                list(r.flags),
                r.pub_datetime.isoformat() if r.pub_datetime else None,
            ]
        )
    return out


@pytest.mark.parametrize("raw,expected,flag", MIDNIGHT_CASES)
def test_date_table(raw, expected, flag):
    r = resolve([Candidate(raw, "metadata")], now=NOW)
    assert (str(r.pub_date) if r.pub_date else None) == expected
    assert r.date_source == ("metadata" if expected else "none")
    if flag:
        assert flag in r.flags
    if r.pub_datetime is not None:
        assert r.pub_datetime.utcoffset().total_seconds() == 0
        assert r.date_raw == raw


def test_same_result_in_any_machine_zone():
    """Run the table in interpreters whose local zone differs; every result must be identical."""
    code = (
        "import json,sys,time; time.tzset(); sys.path.insert(0, sys.argv[1]);"
        "from tests.unit.ingest.test_ingest_dates import _resolve_rows, MIDNIGHT_CASES;"
        "print(json.dumps(_resolve_rows(MIDNIGHT_CASES)))"
    )
    results = []
    for tz in ("UTC", "America/New_York", "Asia/Kolkata", "Pacific/Kiritimati"):
        env = dict(os.environ, TZ=tz, PYTHONPATH=str(ROOT))
        out = subprocess.run(
            [sys.executable, "-c", code, str(ROOT)], env=env, capture_output=True, text=True, check=True, cwd=ROOT
        )
        results.append(json.loads(out.stdout))
    assert all(r == results[0] for r in results)
    assert results[0] == _resolve_rows(MIDNIGHT_CASES)


def test_explicit_format_and_zone():
    c = Candidate("26-FEB-1987 15:01:01.79", "record_field", fmt="%d-%b-%Y %H:%M:%S%.f", tz="America/New_York")
    r = resolve([c], now=NOW)
    assert r.pub_datetime == datetime(1987, 2, 26, 20, 1, 1, 790000, tzinfo=UTC)
    assert r.date_source == "record_field"
    # the same format without fraction also parses; a malformed value is not a date
    assert parse_raw("26-FEB-1987 15:01:01", fmt="%d-%b-%Y %H:%M:%S%.f")[0]
    assert (
        resolve([Candidate("31-FEB-1987 15:01:01.79", "record_field", fmt="%d-%b-%Y %H:%M:%S%.f")], now=NOW).pub_date
        is None
    )


def test_url_and_file_name_dates():
    assert url_date("https://ex.com/news/2024/03/05/story").value == date(2024, 3, 5)
    assert url_date("https://ex.com/2024-03-05-story.html").value == date(2024, 3, 5)
    assert url_date("https://ex.com/story-123456") is None
    assert file_name_date("batch/2024-02-30/x.txt") is None  # directories are not dates of documents
    assert file_name_date("dump-20240305.txt").value == date(2024, 3, 5)


def test_url_disagreement_is_flagged_and_url_wins_over_metadata():
    cands = [Candidate("2024-05-20T10:00:00Z", "metadata"), url_date("https://ex.com/2024/03/05/x")]
    r = resolve(cands, now=NOW)
    assert "url_mismatch" in r.flags
    assert r.pub_date == date(2024, 3, 5) and r.date_source == "url"
    # a record field keeps precedence but is still flagged
    r = resolve([Candidate("2024-05-20", "record_field"), url_date("https://ex.com/2024/03/05/x")], now=NOW)
    assert r.date_source == "record_field" and "url_mismatch" in r.flags
    # agreement within the zone spread is no mismatch
    r = resolve([Candidate("2024-03-05T23:30:00-05:00", "metadata"), url_date("https://e.com/2024/03/05/x")], now=NOW)
    assert r.date_source == "metadata" and "url_mismatch" not in r.flags


def test_ambiguous_settled_by_other_candidate():
    r = resolve([Candidate("05/03/2024", "text"), url_date("https://ex.com/2024/05/03/x")], now=NOW)
    assert r.pub_date == date(2024, 5, 3)


def test_library_answer_must_be_in_raw():
    # htmldate turned 2024-13-45 into 2024-01-01: not written in the page -> discarded
    c = Candidate("x", "text", value=date(2024, 1, 1), verify=True)
    r = resolve([c], now=NOW, verify_text="<p>Posted 2024-13-45</p>")
    assert r.pub_date is None and "not_in_raw" in r.flags
    r = resolve([c], now=NOW, verify_text="<p>Posted January 1st, 2024 by X</p>")
    assert r.pub_date == date(2024, 1, 1) and r.date_raw == "January 1st, 2024"
    assert found_in(date(2024, 3, 5), "on 5.3.2024") and not found_in(date(2024, 3, 5), "2024 had 3 and 5")


def test_precedence_order():
    cands = [
        Candidate("2024-01-02", "file_name"),
        Candidate("2024-01-03", "text"),
        Candidate("2024-01-04", "record_field"),
        Candidate("2024-01-05", "metadata"),
    ]
    assert resolve(cands, now=NOW).date_source == "metadata"
    assert resolve(cands[:3], now=NOW).date_source == "record_field"
    assert resolve(cands[:2], now=NOW).date_source == "text"
    assert resolve([Candidate("garbage", "metadata")], now=NOW).date_source == "none"
