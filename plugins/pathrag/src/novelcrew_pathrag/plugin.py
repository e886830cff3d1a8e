"""Entry point of the pathrag plugin: its hook implementations."""
