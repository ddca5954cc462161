"""Salon's domain model: the records and value types the store produces and every layer
passes around (services, GraphQL, HTTP). Frozen dataclasses, one module per area; nothing here
knows about SQL or HTTP."""
