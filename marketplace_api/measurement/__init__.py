"""Measurement: the campaign report with its incremental effect, and the settlement feed."""
