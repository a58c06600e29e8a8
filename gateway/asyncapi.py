"""The AsyncAPI 3.0 document of every event the platform publishes, generated from `shared/contracts`.

Guarantees:
- Every `EventData` subclass with a `TYPE` in any module of `shared.contracts` is a message of its
  `TOPIC`'s channel, so a new contract is described without anyone remembering to: the document is
  generated, never written.
- Each message is the whole record value: the CloudEvents 1.0 structured envelope (`content-type:
  application/cloudevents+json`) whose `type` is the event type and whose `data` is the contract's
  JSON schema (pydantic's, shared components under `components.schemas`).
- Each message states its Kafka record key (the Kafka message binding's `key`): the aggregate id,
  i.e. the payload field `KEY_FIELD` when a contract declares one, else `<aggregate>_id` from the type
  `rw.ewtp.<aggregate>.<event>.v1`, with the documented exceptions (stock and shipment events are keyed
  by order id so one order's story stays on one partition).
- Each topic has its dead-letter channel `<topic>.dlq` (same messages, error details in headers).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

import shared.contracts
from shared.contracts.envelope import CONTENT_TYPE, EventData, dlq_topic

__all__ = ["asyncapi_document", "contracts", "key_field"]

#: Aggregates whose events are keyed by another aggregate's id (see the contracts' docstrings).
KEY_OVERRIDES = {"stock": "order_id", "shipment": "order_id"}


def contracts() -> list[type[EventData]]:
    """Every event contract (a class with its own `TYPE`) in the modules of `shared.contracts`."""
    found: dict[str, type[EventData]] = {}
    for module_info in pkgutil.iter_modules(shared.contracts.__path__):
        module = importlib.import_module(f"{shared.contracts.__name__}.{module_info.name}")
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, EventData) and "TYPE" in value.__dict__ and getattr(value, "TOPIC", None):
                found[value.TYPE] = value
    return [found[event_type] for event_type in sorted(found)]


def key_field(contract: type[EventData]) -> str:
    """The payload field whose value is the record key of `contract`'s events."""
    declared = getattr(contract, "KEY_FIELD", None)
    if isinstance(declared, str):
        return declared
    aggregate = contract.TYPE.split(".")[-3]
    return KEY_OVERRIDES.get(aggregate, f"{aggregate}_id")


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_")


def _envelope(event_type: str, data_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "A CloudEvents 1.0 event in structured mode: the whole Kafka record value.",
        "required": ["specversion", "id", "source", "type", "time", "data"],
        "properties": {
            "specversion": {"type": "string", "const": "1.0"},
            "id": {"type": "string", "minLength": 1, "description": "Unique per event; consumers de-duplicate on it."},
            "source": {"type": "string", "minLength": 1, "examples": ["/ewtp/orders"]},
            "type": {"type": "string", "const": event_type},
            "subject": {"type": "string", "description": "The aggregate id; also the record key."},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "data": {"$ref": data_ref},
        },
    }


@cache
def asyncapi_document() -> dict[str, Any]:
    """The whole AsyncAPI 3.0 document (computed once per process: contracts change only with a release)."""
    found = contracts()
    _, schema = models_json_schema(
        [(contract, "validation") for contract in found], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = schema.get("$defs", {})
    messages: dict[str, Any] = {}
    by_topic: dict[str, list[str]] = {}
    for contract in found:
        name = contract.__name__
        field = key_field(contract)
        messages[name] = {
            "name": contract.TYPE,
            "title": contract.TYPE,
            "summary": (inspect.getdoc(contract) or contract.TYPE).split("\n\n")[0],
            "contentType": CONTENT_TYPE,
            "headers": {
                "type": "object",
                "properties": {"content-type": {"type": "string", "const": CONTENT_TYPE}},
            },
            "payload": _envelope(contract.TYPE, f"#/components/schemas/{name}"),
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": f"The event's `{field}` (the CloudEvent subject)."},
                    "bindingVersion": "0.5.0",
                }
            },
            "x-ewtp-key-field": field,
        }
        by_topic.setdefault(contract.TOPIC, []).append(name)

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic, names in sorted(by_topic.items()):
        producer = topic.split(".")[0]
        for address, description, action_id in (
            (topic, f"Events of the {producer} service, keyed by aggregate id.", f"{producer}_publishes"),
            (
                dlq_topic(topic),
                f"Dead letters of {topic}: records a consumer could not apply, unchanged, with x-error-* headers.",
                f"{producer}_dead_letters",
            ),
        ):
            channel_id = _channel_id(address)
            channels[channel_id] = {
                "address": address,
                "description": description,
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in names},
            }
            operations[action_id] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"} for name in names],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "eWTP Rwanda events",
            "version": "1",
            "description": (
                "Every event the eWTP services publish on Kafka: CloudEvents 1.0 (structured mode) on "
                "`<service>.events`, keyed by aggregate id, delivered at least once (consumers de-duplicate "
                "on the event id). Generated from the versioned contracts in shared/contracts."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "kafka": {
                "host": "kafka:9092",
                "protocol": "kafka",
                "description": "The platform's Kafka cluster (docker-compose / k8s service name).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
