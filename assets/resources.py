"""Resources: where the inbox and the lake are. Configured from the environment at launch, not import."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipeline.ingest import IngestConfig
from pipeline.storage import Lake


class LakeResource(dg.ConfigurableResource):
    """The Delta Lake root: a local folder (relative to the working directory) or an object-store URI."""

    root: str = "data/lake"
    aws_endpoint_url: str | None = None
    aws_region: str | None = None
    aws_allow_http: bool = False

    def lake(self) -> Lake:
        opts = {}
        if self.aws_endpoint_url:
            opts["AWS_ENDPOINT_URL"] = self.aws_endpoint_url
        if self.aws_region:
            opts["AWS_REGION"] = self.aws_region
        if self.aws_allow_http:
            opts["AWS_ALLOW_HTTP"] = "true"
        return Lake(self.root, storage_options=opts)


class InboxResource(dg.ConfigurableResource):
    """The folder of raw input files and, optionally, a TOML ingestion config (JSONL field mapping, limits)."""

    path: str = "data/inbox"
    config_file: str = ""  # TOML ingestion config (JSONL field mapping, limits); "" = defaults
    workers: int = 2

    def folder(self) -> Path:
        return Path(self.path).expanduser().resolve()

    def ingest_config(self) -> IngestConfig:
        base = IngestConfig.from_toml(self.config_file) if self.config_file else IngestConfig()
        import dataclasses

        return dataclasses.replace(base, workers=self.workers)
