"""Configuration: the pydantic schema of config.yaml and its loader.

Every other layer receives already-validated settings from here; nothing reads the YAML file on its own.
"""

from config.loader import ConfigError, load_config, resolve_config_path
from config.schema import Settings

__all__ = ["ConfigError", "Settings", "load_config", "resolve_config_path"]
