"""Config layer: YAML files (plus ``--set`` overrides) to validated, typed config objects.

Every problem is a :class:`ConfigIssue` printed as ``PATH:LINE:COL: field.path: message``; loading raises
one :class:`ConfigError` holding all of them (``exit_code`` 2). Schemas live in ``schemas/`` (the
``mediagrid.schemas`` package).
"""
from mediagrid.config.errors import ConfigError, ConfigIssue
from mediagrid.config.load import load_app_config, load_topology, load_validated, validate_file
from mediagrid.config.model import AppConfig, DeadlineConfig, KafkaConfig, NodeConfig, SinkConfig, SourceConfig
from mediagrid.config.schema import known_apps

__all__ = [
    "AppConfig", "ConfigError", "ConfigIssue", "DeadlineConfig", "KafkaConfig", "NodeConfig", "SinkConfig",
    "SourceConfig", "known_apps", "load_app_config", "load_topology", "load_validated", "validate_file",
]
