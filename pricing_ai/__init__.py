"""pricing_ai package."""
