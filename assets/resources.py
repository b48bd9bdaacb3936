"""Resources: the settings (one object for every stage) and the lake they point at.

Fields left empty fall back to the environment, then the settings file, then defaults
(:meth:`pipeline.config.Settings.load`): no committed file sets anything.
"""

import dagster as dg

from pipeline.config import Settings
from pipeline.storage import Lake


class SettingsResource(dg.ConfigurableResource):
    """newslake's settings: a TOML file (``$NEWSLAKE_CONFIG``) and the inbox and lake locations."""

    config_file: str = ""
    inbox: str = ""
    lake: str = ""
    aws_endpoint_url: str = ""
    aws_region: str = ""
    aws_allow_http: bool = False

    def get_settings(self) -> Settings:
        return Settings.load(config_file=self.config_file or None, inbox=self.inbox or None, lake=self.lake or None)

    def get_lake(self) -> Lake:
        opts = {}
        if self.aws_endpoint_url:
            opts["AWS_ENDPOINT_URL"] = self.aws_endpoint_url
        if self.aws_region:
            opts["AWS_REGION"] = self.aws_region
        if self.aws_allow_http:
            opts["AWS_ALLOW_HTTP"] = "true"
        return Lake(self.get_settings().lake, storage_options=opts)
