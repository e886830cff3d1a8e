"""Kept so callers outside core's crewAI layer keep working; new code uses
``novelcrew.crewai.env`` (the runner prepares crewAI before any plugin code runs)."""

from novelcrew.crewai.env import import_crewai, prepare

__all__ = ["import_crewai", "prepare"]
