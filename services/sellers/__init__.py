"""Sellers: exporter profiles, their documents and RDB verification."""
