"""Catalogue: sellers' listings, their stock, indicative display prices and the marketplace feed."""
