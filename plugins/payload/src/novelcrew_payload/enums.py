"""Novel Movie's own values for the fields this plugin writes, kept in one place.

Payload rejects any other value with a 400, so the plugin sends only these; the tests check
each of them against a real server's validation (``tests/payload_server/payload.config.mjs``
mirrors Novel Movie's collections).
"""

from __future__ import annotations

from enum import StrEnum


class ProjectStatus(StrEnum):
    """``projects.status``."""

    draft = "draft"
    story_in_progress = "story-in-progress"
    story_completed = "story-completed"
    in_production = "in-production"
    completed = "completed"
    archived = "archived"


class WorkflowStep(StrEnum):
    """``projects.workflowStatus.currentStep`` and ``completedSteps[].step``."""

    project_setup = "project-setup"
    story_generation = "story-generation"
    character_development = "character-development"
    scene_planning = "scene-planning"
    media_generation = "media-generation"
    post_production = "post-production"
    final_review = "final-review"
    completed = "completed"


class StoryStatus(StrEnum):
    """``stories.status``."""

    in_progress = "in-progress"
    completed = "completed"


#: The fields of a ``projects.generatedContent.scenes`` row this plugin fills.
SCENE_FIELDS: tuple[str, ...] = (
    "sceneNumber",
    "heading",
    "description",
    "location",
    "estimatedDuration",
)

#: ``stories.currentStep`` is a number within these bounds.
STORY_STEP_RANGE: tuple[int, int] = (1, 12)
