"""Entry points that pick a broker engine: tests, `bootstrap: embedded`, and `mediagrid broker`."""
from __future__ import annotations


from mediagrid.errors import UsageError
from mediagrid.kafka.apache_kafka import ApacheKafkaBroker
from mediagrid.kafka.broker_process import Broker
from mediagrid.kafka.tansu import TansuBroker
from mediagrid.kafka.wire import answers_kafka
from mediagrid.runtime.foreground import serve_until_signal


ENGINES: dict[str, type[Broker]] = {"tansu": TansuBroker, "kafka": ApacheKafkaBroker}
EMBEDDED_PORT = 19092
_LIVENESS_POLL_S = 0.5


def _broker_class(engine: str) -> type[Broker]:
    try:
        return ENGINES[engine]
    except KeyError:
        raise UsageError(f"unknown broker engine {engine!r}; choose one of: {', '.join(ENGINES)}") from None


def start_broker(engine: str = "tansu", port: int | None = None, host: str = "127.0.0.1") -> Broker:
    """Start a broker of the named engine and return it once clients can use it."""
    return _broker_class(engine)(port=port, host=host).start()


def embedded_bootstrap(port: int = EMBEDDED_PORT) -> tuple[str, Broker | None]:
    """Start or reuse: several apps (and `mediagrid broker` in another terminal) share one broker.

    Returns (bootstrap, None) when a Kafka broker already answers on 127.0.0.1:port, else
    (bootstrap, broker) for a Tansu broker started here that the caller must stop.
    """
    host = "127.0.0.1"
    if answers_kafka(host, port):
        return f"{host}:{port}", None
    broker = TansuBroker(port=port, host=host).start()
    return broker.bootstrap, broker


def serve_foreground(engine: str, port: int | None) -> int:
    """Run a broker until SIGINT/SIGTERM, for `mediagrid broker`; must be called from the main thread."""
    broker = _broker_class(engine)(port=port if port is not None else EMBEDDED_PORT)

    def start() -> str:
        broker.start()
        return f"{engine} broker ready on {broker.bootstrap}"

    def stop() -> str:
        broker.stop()
        return f"{engine} broker on {broker.bootstrap} stopped"

    return serve_until_signal(start, stop, broker.ensure_running, _LIVENESS_POLL_S)
