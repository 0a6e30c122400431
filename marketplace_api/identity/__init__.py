"""Identity: organisations, users with roles, API keys for the app and the checkout."""
