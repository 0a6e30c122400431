"""Campaigns: a supplier's (or the retailer's) discount campaign, its approval lifecycle,
launch with the budget held, and campaigns created from a spreadsheet."""
