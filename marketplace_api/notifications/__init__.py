"""Notifications to organisations: in-app messages and email through an outbox."""
