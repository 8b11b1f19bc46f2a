"""Kafka plumbing: broker launchers, the topic registry and decoder, the consumer bridge and producer."""
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
from mediagrid.kafka.topics import (
    DEFAULT_TOPICS,
    MAX_MESSAGE_BYTES,
    InvalidMessage,
    dead_letter,
    decode,
    encode,
    schema,
    topic_name,
)

__all__ = [
    "DEFAULT_TOPICS",
    "MAX_MESSAGE_BYTES",
    "InvalidMessage",
    "dead_letter",
    "decode",
    "encode",
    "schema",
    "topic_name",
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
