"""novelcrew payload plugin."""
