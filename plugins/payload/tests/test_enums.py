"""Every value the plugin may send is one the real collection accepts (and others are not)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from novelcrew_payload import (
    PayloadClient,
    PayloadValidationError,
    ProjectStatus,
    StoryStatus,
    WorkflowStep,
)
from novelcrew_payload.workflow import TRANSITIONS, project_update, scenes_from_output


async def test_every_workflow_step_and_status_is_accepted(
        payload: PayloadClient, new_project: Callable[..., Any]) -> None:
    project = await new_project()
    steps = [{"step": step.value, "completedAt": "2026-01-01T00:00:00.000Z"}
             for step in WorkflowStep]
    for step, status in zip(WorkflowStep, [*ProjectStatus, *ProjectStatus], strict=False):
        doc = await payload.patch("projects", project["id"], {
            "status": status.value,
            "workflowStatus": {"currentStep": step.value, "completedSteps": steps}})
        assert doc["workflowStatus"]["currentStep"] == step.value
        assert doc["status"] == status.value
    assert [row["step"] for row in doc["workflowStatus"]["completedSteps"]] == [
        step.value for step in WorkflowStep]


async def test_every_story_status_is_accepted(payload: PayloadClient,
                                              new_project: Callable[..., Any]) -> None:
    project = await new_project()
    story = await payload.create("stories", {"project": project["id"], "currentStep": 12})
    for status in StoryStatus:
        doc = await payload.patch("stories", story["id"], {"status": status.value})
        assert doc["status"] == status.value
    with pytest.raises(PayloadValidationError) as caught:
        await payload.patch("stories", story["id"], {"currentStep": 13})
    assert caught.value.errors[0]["path"] == "currentStep"


async def test_the_server_really_validates_these_fields(
        payload: PayloadClient, new_project: Callable[..., Any]) -> None:
    project = await new_project()
    with pytest.raises(PayloadValidationError) as caught:
        await payload.patch("projects", project["id"], {"workflowStatus": {
            "completedSteps": [{"step": "storyboarding"}]}})
    assert caught.value.errors[0]["path"] == "workflowStatus.completedSteps.0.step"


async def test_every_transition_and_a_loose_scene_plan_are_accepted(
        payload: PayloadClient, new_project: Callable[..., Any]) -> None:
    project = await new_project()
    plan = {"scenes": [
        {"number": 1, "heading": "EXT. GULL ROCK - NIGHT", "summary": "The storm.",
         "location": "Gull Rock", "shots": [{"estimated_duration": 4}, {"estimated_duration": 6}]},
        {"scene_number": "2", "title": "The harbour", "description": "Tom hides.",
         "duration": "12s", "characters": ["Tom", {"name": "Maya"}]},
        {"summary": "An unnumbered scene"},
    ]}
    for transition in TRANSITIONS.values():
        project = await payload.patch("projects", project["id"],
                                      project_update(project, transition, crew_output=plan))
    scenes = project["generatedContent"]["scenes"]
    assert [s["sceneNumber"] for s in scenes] == [1, 2, 3]
    assert scenes[0]["estimatedDuration"] == 10
    assert scenes[1]["estimatedDuration"] == 12 and scenes[1]["heading"] == "The harbour"
    assert scenes[2]["description"] == "An unnumbered scene"
    assert scenes_from_output({"no": "scenes"}) is None


async def test_fields_a_collection_lacks_are_dropped_not_rejected(
        payload: PayloadClient, new_project: Callable[..., Any]) -> None:
    # the plugin relies on this: scene rows may carry fields a deployment's collection lacks
    project = await new_project()
    doc = await payload.patch("projects", project["id"], {
        "generatedContent": {"scenes": [{"sceneNumber": 1, "description": "x", "shotCount": 3}]},
        "notAField": 1})
    assert "shotCount" not in doc["generatedContent"]["scenes"][0] and "notAField" not in doc
