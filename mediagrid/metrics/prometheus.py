"""Live Prometheus metrics of a run, read from the outcome recorder at scrape time.

Nothing is counted twice: the collector turns the recorder's running aggregates (outcome counts, latency
histogram per stage) and the Kafka session's counters into metric families when Prometheus asks, so the
hot path pays only for the recorder it already feeds.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from mediagrid.errors import UsageError
from mediagrid.metrics.recorder import BUCKETS_MS, OutcomeRecorder

_KAFKA_COUNTERS = ("consumed", "produced", "dead_lettered", "committed", "delivery_errors")
_KAFKA_GAUGES = {"lag": "messages on the broker beyond the consumer's position",
                 "queue_depth": "items waiting in the bridge's hand-off queue now",
                 "max_queue_depth": "deepest the bridge's hand-off queue has been"}


class RunCollector:
    def __init__(self, recorder: OutcomeRecorder, labels: Mapping[str, str],
                 kafka_stats: Callable[[], Mapping[str, int]] | None = None) -> None:
        self.recorder = recorder
        self.labels = dict(labels)
        self.kafka_stats = kafka_stats

    def collect(self) -> Iterator[Metric]:
        names, values = list(self.labels), list(self.labels.values())
        items = CounterMetricFamily("mediagrid_items", "Items that ended a stage, by outcome",
                                    labels=[*names, "stage", "outcome"])
        latency = HistogramMetricFamily("mediagrid_latency_ms", "Stage and end-to-end latency in milliseconds",
                                        labels=[*names, "stage"])
        for stage, agg in sorted(self.recorder.aggregates().items()):
            for outcome, count in agg.tally.items():
                items.add_metric([*values, stage, outcome], count)
            cumulative, buckets = 0, []
            for bound, count in zip([*map(str, BUCKETS_MS), "+Inf"], agg.buckets):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric([*values, stage], buckets, agg.sum_ms)
        yield items
        yield latency
        if self.kafka_stats is not None:
            stats = self.kafka_stats()
            for key in _KAFKA_COUNTERS:
                counter = CounterMetricFamily(f"mediagrid_kafka_{key}", f"Kafka records {key.replace('_', ' ')}",
                                              labels=names)
                counter.add_metric(values, stats.get(key, 0))
                yield counter
            for key, text in _KAFKA_GAUGES.items():
                gauge = GaugeMetricFamily(f"mediagrid_kafka_{key}", text, labels=names)
                gauge.add_metric(values, stats.get(key, 0))
                yield gauge


def serve_metrics(collector: RunCollector, port: int, host: str = "127.0.0.1") -> Any:
    """Serve ``/metrics`` on ``host:port`` in a daemon thread; returns the server (``.shutdown()``)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    try:
        server, _ = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise UsageError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from exc
    return server
