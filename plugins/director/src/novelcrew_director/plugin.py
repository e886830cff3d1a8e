"""Entry point of the director plugin: its hook implementations."""
