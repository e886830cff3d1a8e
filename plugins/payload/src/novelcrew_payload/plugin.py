"""Entry point of the payload plugin: its hook implementations."""
