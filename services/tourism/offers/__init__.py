"""Offers and their dated inventory: ops manage them, traveller apps search availability."""
