"""The HTTP API: ``create_app(settings, plugins, backend)`` builds the FastAPI application."""

from novelcrew.api.app import create_app

__all__ = ["create_app"]
