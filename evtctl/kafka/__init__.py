"""Kafka facts shared by the manifests, the reference broker and plan/apply."""
