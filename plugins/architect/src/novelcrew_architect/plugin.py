"""Entry point of the architect plugin: its hook implementations."""
