"""The Kafka admin backend (confluent-kafka), capability detection and the live-state reader."""
