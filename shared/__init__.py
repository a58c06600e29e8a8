"""The platform library every service and the gateway import.

It holds only mechanisms (settings, database, outbox, consumer, errors, signed identity,
idempotency, pagination, money, health, logging) and the event contracts. It imports no
service and not the gateway; an import-linter contract in `make lint` keeps it that way.
"""
