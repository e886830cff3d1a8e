"""The model layer: providers, routing, retries and fallbacks, usage, and ``offline``."""
