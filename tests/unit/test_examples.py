"""The shipped example config loads a Reuters-shaped export through configuration alone."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

from pipeline.ingest import IngestConfig, parse_file, scan_inbox

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "wire-1987-mapping.toml"


def test_reuters_shaped_records_load_through_the_example_config(tmp_path):
    records = [
        {"newid": 7, "date": "26-FEB-1987 15:01:01.79", "title": "SAMPLE COCOA REVIEW",
         "body": "Rain fell across the growing zone this\nweek, traders said.\n    Arrivals were\nsteady.",
         "text_type": "NORM"},
        {"newid": 8, "date": "2-MAR-1987 09:10:00.00", "title": "SAMPLE BRIEF", "body": "",
         "unproc_text": "Prices were unchanged in quiet trade.", "text_type": "UNPROC"},
    ]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "export.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    cfg = IngestConfig.from_toml(EXAMPLE)
    (entry,) = scan_inbox(inbox)
    parsed = parse_file(entry, config=cfg, ingested_at=datetime(2026, 11, 28, tzinfo=UTC))
    docs = parsed.documents.sort("record_key")
    assert docs["record_key"].to_list() == ["7", "8"]
    assert docs["pub_date"].to_list() == [date(1987, 2, 26), date(1987, 3, 2)]
    assert docs["date_source"].to_list() == ["record_field", "record_field"]
    first = docs.row(0, named=True)
    body = first["text"][first["body_start"]:first["body_end"]]
    assert body == "Rain fell across the growing zone this week, traders said.\n\nArrivals were steady."
    assert "Prices were unchanged" in docs["text"][1]
