"""The pure library stays pure: nothing under pipeline/ imports dagster, and heavy deps live in one place."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PIPELINE = Path(__file__).resolve().parents[2] / "pipeline"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.add(node.module.split(".")[0])
    return mods


def test_pipeline_never_imports_dagster():
    offenders = [str(p) for p in PIPELINE.rglob("*.py") if "dagster" in imported_modules(p)]
    assert offenders == []


def test_importing_the_pipeline_does_not_load_dagster():
    code = (
        "import sys, pipeline, pipeline.storage, pipeline.sql, pipeline.ingest, pipeline.schema; "
        "print('dagster' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_heavy_dependencies_are_imported_in_one_module_each():
    # One place per heavy dependency: one module, or one package dedicated to it (trafilatura: ingest/html/).
    dedicated = {"ingest/html"}
    owners: dict[str, set[str]] = {"spacy": set(), "trafilatura": set()}
    for p in PIPELINE.rglob("*.py"):
        rel = p.relative_to(PIPELINE)
        place = rel.parent.as_posix() if rel.parent.as_posix() in dedicated else rel.as_posix()
        for dep in owners:
            if dep in imported_modules(p):
                owners[dep].add(place)
    assert len(owners["spacy"]) <= 1, owners
    assert len(owners["trafilatura"]) <= 1, owners


def test_readme_documents_every_table_as_the_schema_says():
    from pipeline.schema import markdown

    readme = (PIPELINE.parent / "README.md").read_text()
    section = readme.split("<!-- tables:start", 1)[1].split("-->\n", 1)[1].split("<!-- tables:end -->")[0]
    assert section.strip() == markdown().strip(), "README table reference is stale: python -m pipeline.schema"
