"""Configuration: the one place that reads the environment and config files.

Precedence, lowest first: defaults → the data directory's own settings (`DATA_DIR/artbandit.toml`,
written by whatever made the directory, e.g. `artbandit demo`) → config file (TOML) →
`ARTBANDIT_*` environment → explicit overrides (tests, command-line flags). The data directory
is made absolute here, once. Everything below `api/` receives plain values.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from artwork.database import is_postgres_url
from artwork.errors import InvalidRecordError
from artwork.placements import DEFAULT_PLACEMENTS, parse_placements
from artwork.records import REWARD_KINDS
from artwork.reward_mapping import DEFAULT_WEIGHTS, RewardMapping

from api.errors import ConfigError
from api.runtime.context import RESERVED

DEFAULT_DATA_DIR = "./artbandit-data"
# A data directory's own settings: the ones it was made with (see `remember_settings`).
DATA_DIR_CONFIG = "artbandit.toml"
CONTEXT_PARAM = re.compile(r"[a-z][a-z0-9_]{0,31}")
ENV_PREFIX = "ARTBANDIT_"


@dataclass(frozen=True)
class Config:
    """Every setting of the service, validated once."""

    data_dir: Path = Path(DEFAULT_DATA_DIR)
    # A PostgreSQL database shared by several hosts (postgresql://...); empty: the data
    # directory's own SQLite file.
    database_url: str = ""
    # A first-run bootstrap: until a user exists, this token acts as an admin (API and studio).
    token: str = ""
    # Send the studio's cookie only over HTTPS; off only for plain-HTTP development.
    cookie_secure: bool = True
    policy: str = "vw:igw"
    floor: float = 0.01
    floor_min: float = 0.002
    floor_ramp: int = 500
    # Fair exposure: an artwork that joins a title already served gets at least this share
    # of the title's impressions until it has had new_art_impressions or new_art_window
    # seconds have passed (0 turns it off).
    new_art_share: float = 0.10
    new_art_impressions: int = 2000
    new_art_window: float = 7 * 86400.0
    # `promote` replaces the champion only when the lower bound of the challenger's paired
    # improvement (in take rate) is above this margin.
    promotion_margin: float = 0.0
    # A user who asks again for a title within this many seconds of its decision sees the same
    # artwork, as a repeat of that decision (0: every request decides; see api/runtime/stable.py).
    stable_for: float = 0.0
    seed: int | None = None
    reward_window: float = 3600.0
    reward_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    learn: bool = True
    learn_interval: float = 1.0
    snapshot_every: int = 500
    snapshot_keep: int = 5
    reload_interval: float = 2.0
    catalog_ttl: float = 2.0
    max_titles: int = 24
    max_upload_bytes: int = 20 * 1024 * 1024
    max_video_bytes: int = 512 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    embed_dim: int = 8
    # The ingest worker's embedder: auto (CLIP when its weights are here), clip or classic.
    embedder: str = "auto"
    context_params: tuple[str, ...] = ("device", "country", "hour", "row", "language", "page",
                                       "maturity", "placement")
    # The shapes artwork is shown in, each cropped for: name=W:H/side:share (the text safe zone).
    placements: tuple[str, ...] = DEFAULT_PLACEMENTS

    def __post_init__(self) -> None:
        checks = [
            (0.0 < self.floor < 1.0,
             "floor must be in (0, 1): exploration never switches off in serving"),
            (0.0 < self.floor_min <= self.floor,
             "floor_min must be in (0, floor]: the floor adapts to traffic, never to 0"),
            (self.floor_ramp >= 1, "floor_ramp must be >= 1"),
            (0.0 <= self.new_art_share < 1.0, "new_art_share must be in [0, 1)"),
            (self.new_art_impressions >= 1, "new_art_impressions must be >= 1"),
            (self.new_art_window > 0, "new_art_window must be > 0 seconds"),
            (-1.0 < self.promotion_margin < 1.0, "promotion_margin must be in (-1, 1)"),
            (self.reward_window >= 0, "reward_window must be >= 0 seconds"),
            (self.stable_for >= 0, "stable_for must be >= 0 seconds (0 turns it off)"),
            (self.learn_interval > 0, "learn_interval must be > 0 seconds"),
            (self.snapshot_every >= 1, "snapshot_every must be >= 1"),
            (self.snapshot_keep >= 1, "snapshot_keep must be >= 1"),
            (self.reload_interval > 0, "reload_interval must be > 0 seconds"),
            (self.catalog_ttl >= 0, "catalog_ttl must be >= 0 seconds"),
            (1 <= self.max_titles <= 1000, "max_titles must be between 1 and 1000"),
            (self.max_upload_bytes > 0, "max_upload_bytes must be > 0"),
            (self.max_video_bytes > 0, "max_video_bytes must be > 0"),
            (self.max_image_pixels > 0, "max_image_pixels must be > 0"),
            (1 <= self.embed_dim <= 64, "embed_dim must be between 1 and 64"),
            (not self.database_url or is_postgres_url(self.database_url),
             "database_url must be a postgresql:// URL (or left empty for SQLite)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"configuration: {message}")
        unknown = sorted(set(self.reward_weights) - set(REWARD_KINDS))
        if unknown:
            raise ConfigError(
                f"configuration: reward_weights names {', '.join(unknown)}; "
                f"feedback kinds are {', '.join(REWARD_KINDS)}"
            )
        bad = [p for p in self.context_params if not CONTEXT_PARAM.fullmatch(p) or p in RESERVED]
        if bad:
            raise ConfigError(
                f"configuration: context_params {bad} must be lower-case words other than "
                f"{', '.join(sorted(RESERVED))}"
            )
        # Kinds left out keep their default reward (play = 1, the others 0).
        object.__setattr__(self, "reward_weights", {**DEFAULT_WEIGHTS, **self.reward_weights})
        object.__setattr__(self, "context_params", tuple(self.context_params))
        try:
            object.__setattr__(self, "placements",
                               tuple(p.spec() for p in parse_placements(self.placements)))
        except InvalidRecordError as exc:
            raise ConfigError(f"configuration: {exc}") from None
        # Absolute once and for all: a relative path would be read against whatever folder
        # a part of the service happens to resolve it from (Flask's root path, say).
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser().absolute())


    @property
    def reward_mapping(self) -> RewardMapping:
        """The reward of an impression from the feedback kinds it received."""
        return RewardMapping(dict(self.reward_weights))

    @property
    def placement_names(self) -> tuple[str, ...]:
        """The names of the configured placements."""
        return tuple(p.split("=", 1)[0] for p in self.placements)

    @property
    def max_live(self) -> int:
        """The most live artworks a title may have: each keeps at least the floor."""
        return int(1.0 / self.floor + 1e-9)


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = _FIELDS[name].type
    try:
        if name == "reward_weights":
            if isinstance(value, str):
                pairs = (p.split("=", 1) for p in value.split(",") if p.strip())
                value = {k.strip(): float(v) for k, v in pairs}
            return {str(k): float(v) for k, v in dict(value).items()}
        if name == "data_dir":
            return Path(value)
        if name in ("context_params", "placements"):
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(v).strip() for v in items if str(v).strip())
        if kind == "bool":
            if isinstance(value, str):
                if value.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(value)
                return value.lower() in ("1", "true", "yes", "on")
            return bool(value)
        if kind == "int":
            return int(value)
        if kind == "int | None":
            return None if value in (None, "", "none") else int(value)
        if kind == "float":
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{source}: {name} = {value!r} is not a valid {kind}"
        ) from None


def _file_values(path: Path, *, remembered: bool = False) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        if remembered:
            return {}
        raise ConfigError(f"config file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    data = data.get("artbandit", data)
    values = {}
    for key, value in data.items():
        if key not in _FIELDS or (remembered and key == "data_dir"):
            raise ConfigError(f"config file {path}: unknown setting {key!r}")
        values[key] = _coerce(key, value, str(path))
    return values


def load_config(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """The configuration from defaults, the data directory's settings, a file, the environment, overrides."""
    env = os.environ if environ is None else environ
    path = path or env.get(ENV_PREFIX + "CONFIG")
    from_file = _file_values(Path(path)) if path else {}
    from_env = {name: _coerce(name, env[ENV_PREFIX + name.upper()], ENV_PREFIX + name.upper())
                for name in _FIELDS if ENV_PREFIX + name.upper() in env}
    given: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if key not in _FIELDS:
            raise ConfigError(f"unknown setting {key!r}")
        if value is not None:
            given[key] = _coerce(key, value, "override")
    data_dir = {**from_file, **from_env, **given}.get("data_dir", Path(DEFAULT_DATA_DIR))
    remembered = _file_values(Path(data_dir).expanduser() / DATA_DIR_CONFIG, remembered=True)
    return Config(**{**remembered, **from_file, **from_env, **given})


def _toml_value(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a TOML basic string


def remember_settings(data_dir: Path, settings: Mapping[str, str | int | float | bool]) -> Path:
    """Write a data directory's own settings (`DATA_DIR/artbandit.toml`), which later commands read."""
    lines = ["# The settings this data directory was made with; flags, the environment and",
             "# --config still override them.", "[artbandit]"]
    for key, value in settings.items():
        if key not in _FIELDS or key == "data_dir":
            raise ConfigError(f"unknown setting {key!r}")
        lines.append(f"{key} = {_toml_value(value)}")
    path = Path(data_dir) / DATA_DIR_CONFIG
    path.write_text("\n".join(lines) + "\n")
    return path


def share_metrics_through(folder: Path) -> None:
    """Have prometheus_client keep metrics in `folder` (multiprocess mode), here and in children."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def environment_with(settings: Mapping[str, object]) -> dict[str, str]:
    """This process's environment with `settings` as `ARTBANDIT_*` variables (for a child process)."""
    return {**os.environ, **{ENV_PREFIX + k.upper(): str(v) for k, v in settings.items()}}


def config_for_cli(data_dir: str | None, config_path: str | None = None,
                   **overrides: Any) -> Config:
    """The configuration a command runs with: its flags over the environment and file."""
    return load_config(path=config_path, overrides={"data_dir": data_dir, **overrides})
