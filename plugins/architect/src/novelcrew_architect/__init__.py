"""novelcrew architect plugin."""
