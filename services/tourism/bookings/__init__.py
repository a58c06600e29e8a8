"""Holds and bookings of traveller apps, and the sweeper that releases expired holds."""
