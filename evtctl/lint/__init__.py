"""Lint: a registry of rules over the typed workspace model, diagnostics and report formats."""
