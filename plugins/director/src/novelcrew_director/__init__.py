"""novelcrew director plugin."""
