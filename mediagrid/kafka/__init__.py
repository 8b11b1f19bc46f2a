"""Kafka plumbing for mediagrid; this module re-exports the local broker launchers."""
from mediagrid.kafka.brokers import (
    ENGINES,
    ApacheKafkaBroker,
    Broker,
    TansuBroker,
    embedded_bootstrap,
    free_port,
    kafka_jars_dir,
    serve_foreground,
    start_broker,
)

__all__ = [
    "ENGINES",
    "ApacheKafkaBroker",
    "Broker",
    "TansuBroker",
    "embedded_bootstrap",
    "free_port",
    "kafka_jars_dir",
    "serve_foreground",
    "start_broker",
]
