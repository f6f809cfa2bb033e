"""The event bus: outbox relay, consumer runtime on kombu, and the embedded in-process bus."""
