"""Event contracts: the CloudEvents envelope and the versioned schemas of each producing service.

These are the only code services share about each other. Consumers read only the fields they need
and ignore unknown ones (`extra="ignore"`), so a producer may add fields within a version.
"""

from shared.contracts.envelope import CloudEvent, EventData, dlq_topic, new_event

__all__ = ["CloudEvent", "EventData", "dlq_topic", "new_event"]
