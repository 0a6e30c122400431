"""One HTTP router per domain; the only modules that speak HTTP."""
