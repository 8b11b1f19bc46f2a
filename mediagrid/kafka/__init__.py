"""Kafka plumbing: broker launchers, the topic registry and decoder, the consumer bridge and producer."""
from mediagrid.kafka.apache_kafka import ApacheKafkaBroker, kafka_jars_dir
from mediagrid.kafka.broker_process import Broker, free_port
from mediagrid.kafka.brokers import ENGINES, embedded_bootstrap, serve_foreground, start_broker
from mediagrid.kafka.tansu import TansuBroker
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
