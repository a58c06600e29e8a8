"""CloudEvents 1.0, Kafka protocol binding, structured mode.

The whole event is the JSON record value; the record carries `content-type:
application/cloudevents+json` and its key is the aggregate id, so one aggregate's events stay in
order on one partition.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

import orjson
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CONTENT_TYPE", "CloudEvent", "EventData", "dlq_topic", "new_event"]

CONTENT_TYPE = "application/cloudevents+json"


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


class EventData(BaseModel):
    """Base of every event payload; subclasses set `TYPE` (`rw.ewtp.<aggregate>.<event>.v1`) and `TOPIC`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    TYPE: ClassVar[str]
    TOPIC: ClassVar[str]

    @classmethod
    def from_event(cls, event: CloudEvent) -> Self:
        return cls.model_validate(event.data)


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    specversion: str = "1.0"
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str | None = None
    time: datetime
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate_json(raw)


def new_event(data: EventData, *, source: str, subject: str) -> CloudEvent:
    """A new event for `data`; `subject` is the aggregate id and becomes the record key."""
    return CloudEvent(
        id=str(uuid.uuid4()),
        source=source,
        type=data.TYPE,
        subject=subject,
        time=datetime.now(UTC),
        data=data.model_dump(mode="json"),
    )
