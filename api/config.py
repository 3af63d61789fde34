"""Configuration: the one place that reads the environment and config files."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

DEFAULT_DATA_DIR = "./artbandit-data"
ENV_PREFIX = "ARTBANDIT_"


class ConfigError(ValueError):
    """A configuration value that cannot be used."""


def resolve_data_dir(cli_value: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """Data directory from the flag, else ARTBANDIT_DATA_DIR, else ./artbandit-data."""
    env = os.environ if environ is None else environ
    value = cli_value or env.get(ENV_PREFIX + "DATA_DIR") or DEFAULT_DATA_DIR
    return Path(value).expanduser()
