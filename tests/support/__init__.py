"""Test support shared by several areas (running brokers, Tansu, clients)."""
