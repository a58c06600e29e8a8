"""The sellers service consumes no events: it is the source of truth for exporters."""
