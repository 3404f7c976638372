"""Loading config.yaml: path resolution, YAML parsing and one-line errors naming the key path."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from config.schema import Settings

DEFAULT_PATH = "config.yaml"
ENV_VAR = "CSPBILL_CONFIG"


class ConfigError(Exception):
    """A config file that cannot be used; the message is one line: file, key path, problem."""


def resolve_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config`` wins, then ``$CSPBILL_CONFIG``, then ``./config.yaml``."""
    return Path(explicit or os.environ.get(ENV_VAR) or DEFAULT_PATH)


def load_config(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate the config; raise ``ConfigError`` with the first problem's key path."""
    file = resolve_config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{file}:{where} invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the top level must be a mapping of sections")
    return parse_settings(data, file)


def parse_settings(data: dict, file: Path) -> Settings:
    """Validate an already-parsed mapping (used by the loader and by tests that build configs)."""
    try:
        return Settings.model_validate({**data, "base_dir": file.resolve().parent})
    except ValidationError as exc:
        raise ConfigError(f"{file}: {_first_problem(exc)}") from exc


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    path = _key_path(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{path}: {message}{extra}" if path else f"{message}{extra}"


def _key_path(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)
