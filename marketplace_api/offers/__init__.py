"""Offers: a launched campaign's personal offers, served to the retailer's app and honoured
at checkout."""
