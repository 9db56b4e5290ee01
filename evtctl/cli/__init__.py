"""Thin typer commands: argument handling only, logic lives in the library modules."""
