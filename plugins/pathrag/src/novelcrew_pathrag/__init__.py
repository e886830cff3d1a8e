"""novelcrew pathrag plugin."""
