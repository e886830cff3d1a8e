"""Built-in features, registered through the same hooks as any plugin."""
