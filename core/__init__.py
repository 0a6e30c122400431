"""Shared foundations: settings, database, money, errors, logging, Celery. No business rules."""
