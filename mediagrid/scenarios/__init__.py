"""Seeded broadcaster traffic for ``mediagrid produce``: a football match, ad breaks, commerce requests.

A scenario file (``configs/scenarios/*.yaml``, schema ``schemas/scenario.schema.json``) says which
generators run and how; each generator is pure in its seed and yields time-ordered messages that validate
against their topic's schema, unless :mod:`~mediagrid.scenarios.malformed` breaks them on purpose.
"""
from mediagrid.scenarios.ads import ad_breaks
from mediagrid.scenarios.commerce import commerce_requests
from mediagrid.scenarios.football import match_messages, plan_match
from mediagrid.scenarios.malformed import KINDS as MALFORMED_KINDS
from mediagrid.scenarios.malformed import Outgoing, encode_all
from mediagrid.scenarios.message import Message
from mediagrid.scenarios.produce import DeliveryError, produce
from mediagrid.scenarios.scenario import Scenario, load_scenario

__all__ = [
    "MALFORMED_KINDS", "DeliveryError", "Message", "Outgoing", "Scenario", "ad_breaks", "commerce_requests",
    "encode_all", "load_scenario", "match_messages", "plan_match", "produce",
]
