"""Application package of the multi-service example."""
