"""A step's settings: its keyword arguments over ``[tool.sluice.data]``, validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluice.config import DataConfig, SluiceConfig, load_config
from sluice.data.model import fail


@dataclass(frozen=True)
class Settings:
    batch_size: int
    max_batch_size: int
    target_batch_ms: int
    pause_ms: int
    lock_timeout_ms: int | None
    max_retries: int
    progress_table: str
    log_interval_s: float


def resolve_settings(data: DataConfig, overrides: Mapping[str, Any], source: str) -> Settings:
    def pick(name: str) -> Any:
        value = overrides.get(name)
        return getattr(data, name) if value is None else value

    def where_from(name: str) -> str:
        return f"{name}=" if overrides.get(name) is not None else f"{source}: tool.sluice.data.{name}"

    minimums = {"batch_size": 1, "target_batch_ms": 0, "pause_ms": 0, "max_retries": 0,
                "max_batch_size": 1, "lock_timeout_ms": 1}
    values: dict[str, Any] = {}
    for name, low in minimums.items():
        value = pick(name)
        if value is None:
            values[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise fail(f"{where_from(name)}: expected an integer >= {low}, got {value!r}")
        values[name] = value
    values["max_batch_size"] = max(values["max_batch_size"], values["batch_size"])
    return Settings(
        progress_table=data.progress_table,
        log_interval_s=max(0.0, float(data.log_interval_s)),
        **values,
    )


def load_data_config(ctx: Any, config: SluiceConfig | DataConfig | None) -> tuple[DataConfig, str]:
    if isinstance(config, DataConfig):
        return config, "config"
    if isinstance(config, SluiceConfig):
        return config.data, str(config.source or "[tool.sluice]")
    if ctx is not None:
        cfg = ctx.opts.get("sluice_config")
        if isinstance(cfg, SluiceConfig):
            return cfg.data, str(cfg.source or "[tool.sluice]")
        ini = getattr(getattr(ctx, "config", None), "config_file_name", None)
        cfg = load_config(Path(ini) if ini else None)
        return cfg.data, str(cfg.source or "[tool.sluice]")
    cfg = load_config()
    return cfg.data, str(cfg.source or "[tool.sluice]")
