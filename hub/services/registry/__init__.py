"""The model registry: models and versions, policies and checks, cards and reviews."""
