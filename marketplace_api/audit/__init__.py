"""The audit log as users read it: recorded changes and the ledger's money movements."""
