"""Lint rules, one module per family; the registry (evtctl.lint.registry) lists them all."""
