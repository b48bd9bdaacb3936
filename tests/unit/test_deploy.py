"""The deployment files in deploy/ are valid for the Dagster and dagster-k8s versions installed.

Each class's section is checked against that class's own config schema (what Dagster does when it builds
the instance, minus connecting to a cluster or a database), and a misspelled field must be refused, so the
check can fail.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PG_ENV = {
    "DAGSTER_PG_HOST": "db",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_DB": "dagster",
    "DAGSTER_PG_USERNAME": "dagster",
    "DAGSTER_PG_PASSWORD": "secret",
}


def _validate(schema, value) -> list[str]:
    from dagster._config import process_config, resolve_to_config_type

    result = process_config(resolve_to_config_type(schema), value)
    return [] if result.success else [e.message for e in result.errors]


@pytest.fixture
def pg_env(monkeypatch):
    for key, value in PG_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.mark.parametrize("name", ["dagster-postgres.yaml", "k8s-instance.yaml"])
def test_instance_files_pass_dagsters_instance_schema(name, tmp_path, pg_env):
    from dagster._core.instance.config import dagster_instance_config

    shutil.copy(DEPLOY / name, tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    assert "storage" in config


def test_postgres_storage_section_matches_dagster_postgres(pg_env):
    import dagster_postgres

    for name in ("dagster-postgres.yaml", "k8s-instance.yaml"):
        section = yaml.safe_load((DEPLOY / name).read_text())["storage"]["postgres"]
        assert _validate(dagster_postgres.DagsterPostgresStorage.config_type(), section) == [], name
    assert _validate(dagster_postgres.DagsterPostgresStorage.config_type(), {"postgres_db": {"hostnam": "x"}})


def test_k8s_run_launcher_and_job_executor_configs_match_dagster_k8s():
    import dagster_k8s

    launcher = yaml.safe_load((DEPLOY / "k8s-instance.yaml").read_text())["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    assert _validate(dagster_k8s.K8sRunLauncher.config_type(), launcher["config"]) == []
    bad = {**launcher["config"], "job_imagee": "x"}
    assert _validate(dagster_k8s.K8sRunLauncher.config_type(), bad), "a misspelled field must be refused"

    run_config = yaml.safe_load((DEPLOY / "k8s-executor-run-config.yaml").read_text())
    schema = dagster_k8s.k8s_job_executor.config_schema.config_type
    assert _validate(schema, run_config["execution"]["config"]) == []
    assert _validate(schema, {**run_config["execution"]["config"], "max_concurent": 4})
