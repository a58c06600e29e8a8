"""Tourism service: the Rwanda Tourism Store (offers, dated inventory, holds and bookings)."""
