"""retail package."""
