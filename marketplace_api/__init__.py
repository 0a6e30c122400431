"""marketplace_api package."""
