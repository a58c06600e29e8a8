"""The tourism service consumes no events: it is the source of truth for offers and bookings."""
