"""audience package."""
