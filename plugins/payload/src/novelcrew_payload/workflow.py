"""How a job's crews move a project's ``workflowStatus``, as pure functions of Payload data.

    architect started    currentStep story-generation (status story-in-progress if draft)
    architect finished   completedSteps += story-generation, character-development;
                         currentStep scene-planning
    director started     currentStep scene-planning
    director finished    completedSteps += scene-planning; currentStep stays scene-planning;
                         generatedContent.scenes = the director's scene plan
    storyboard started   currentStep scene-planning
    storyboard finished  currentStep media-generation, only when the storyboard says
                         ready_for_media_generation and no crew of the job was offline;
                         generatedContent.storyboard = the storyboard (whatever its flags),
                         its warnings included, in words and as data

Media generation needs prompts, not a shot list, so only a storyboard that is ready moves the
project there; a director's plan leaves it at scene-planning (with that step completed).

A storyboard's ``warnings`` ("scene 4: Tom is named in shot 2 but not in frame ...: check
before generating", a time-of-day clash, a shot boarded from the plan's own words) are stored
with it, and do not hold the project at scene-planning: as a first AD reads them they are
per-shot notes for whoever generates that shot, not a fault in the plan, and the storyboard
already decides ``ready_for_media_generation``. Holding the whole project for one shot's note
would stop every other shot's media; storing them where the media step reads the prompts makes
sure they are seen before that shot is generated. ``warning_details`` holds the same warnings
as data (kind, scene, shots, shot ids), and each stored shot its ``warning_kinds``, so the
media step can skip or flag exactly those shots without parsing the words.

The architect's scenes replace ``generatedContent.scenes`` too when it finishes, so a
re-analysis never leaves an older plan's scenes in the project.

A result of the ``offline`` stand-in (``model.offline`` true) is not a real analysis or plan:
its crew's finish completes no step and leaves ``currentStep`` at the step the crew belongs to
(story-generation, scene-planning), and every scene row it stores says it is offline (the
``OFFLINE_MARK`` before its heading and description); a stored storyboard carries its own
``offline`` and ``note``.

A job that fails or is cancelled goes back (``observer.restore_project``): to the step the
project had before the job, or where its last finished crew left it; ``resting_step`` gives the
step a project's completed steps lead to when the step before is not known.

Every update also sets ``lastActivity``. Only values from ``enums`` are ever produced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from novelcrew_payload.enums import SCENE_FIELDS, ProjectStatus, WorkflowStep


@dataclass(frozen=True)
class Transition:
    """What one crew event does to the project's workflow."""

    current_step: WorkflowStep
    completes: tuple[WorkflowStep, ...] = ()
    start_story: bool = False
    stores_scenes: bool = False
    stores_storyboard: bool = False

    def update(self, project: Mapping[str, Any], *, crew_output: Any = None,
               now: str | None = None) -> dict[str, Any]:
        return project_update(project, self, crew_output=crew_output, now=now)


#: what every scene row stored from an offline result starts with
OFFLINE_MARK = "[offline stand-in, not a real analysis] "

TRANSITIONS: dict[tuple[str, str], Transition] = {
    ("architect", "crew_started"): Transition(WorkflowStep.story_generation, start_story=True),
    ("architect", "crew_finished"): Transition(
        WorkflowStep.scene_planning,
        completes=(WorkflowStep.story_generation, WorkflowStep.character_development),
        stores_scenes=True),
    ("director", "crew_started"): Transition(WorkflowStep.scene_planning),
    ("director", "crew_finished"): Transition(
        WorkflowStep.scene_planning, completes=(WorkflowStep.scene_planning,),
        stores_scenes=True),
    ("storyboard", "crew_started"): Transition(WorkflowStep.scene_planning),
    ("storyboard", "crew_finished"): Transition(
        WorkflowStep.media_generation, stores_storyboard=True),
}

#: the storyboard's fields stored in ``generatedContent.storyboard`` (not its model routing,
#: sources or graph counts, which stay in the job's result); ``warnings`` and
#: ``warning_details`` are always stored, empty lists when there are none, so the media step
#: can count them without a missing key
STORYBOARD_FIELDS: tuple[str, ...] = (
    "title", "offline", "ready_for_media_generation", "note", "clip_seconds", "bible",
    "scenes", "totals", "warnings", "warning_details",
)


def transition_for(event_type: str, crew: str | None, output: Any = None, *,
                   offline_before: bool = False) -> Transition | None:
    """What ``event_type`` of ``crew`` does; an offline result's finish stays at its step, and
    so does a storyboard's that is not ready for media generation (``offline_before``: an
    earlier crew of the job was the offline stand-in, so what it boarded is not real)."""
    transition = TRANSITIONS.get((crew or "", event_type))
    if transition is None or event_type != "crew_finished":
        return transition
    held = is_offline(output)
    if transition.current_step is WorkflowStep.media_generation:
        held = held or offline_before or not is_ready(output)
    if held:
        started = TRANSITIONS.get((crew or "", "crew_started"))
        step = started.current_step if started else transition.current_step
        return replace(transition, current_step=step, completes=())
    return transition


def is_ready(output: Any) -> bool:
    """Whether a storyboard says it is ready for media generation (and is not offline)."""
    return isinstance(output, Mapping) and output.get("ready_for_media_generation") is True \
        and output.get("offline") is not True and not is_offline(output)


def is_offline(output: Any) -> bool:
    """Whether a crew's output says the ``offline`` stand-in produced it."""
    model = output.get("model") if isinstance(output, Mapping) else None
    return isinstance(model, Mapping) and model.get("offline") is True


def cumulative(transition: Transition, finished_crews: Sequence[str],
               offline_crews: Sequence[str] = ()) -> Transition:
    """``transition`` also completing the steps of every crew the job has finished (not those
    the offline stand-in ran), so an update lost while Payload was away is made good by the
    next one."""
    completes: list[WorkflowStep] = []
    for crew in finished_crews:
        earlier = TRANSITIONS.get((crew, "crew_finished"))
        if crew in offline_crews:
            continue
        completes.extend(earlier.completes if earlier else ())
    completes.extend(transition.completes)
    unique = tuple(dict.fromkeys(completes))
    return replace(transition, completes=unique)


def resting_step(workflow: Any) -> WorkflowStep:
    """The step a project's completed steps put it at (``project-setup`` when none): where a
    failed job's project goes back to when what it was at before is not known."""
    rows = workflow.get("completedSteps") if isinstance(workflow, Mapping) else None
    done = {row.get("step") for row in rows if isinstance(row, Mapping)} \
        if isinstance(rows, list) else set()
    order = list(WorkflowStep)
    step = WorkflowStep.project_setup
    for (_, kind), transition in TRANSITIONS.items():
        if kind == "crew_finished" and transition.completes \
                and {s.value for s in transition.completes} <= done \
                and order.index(transition.current_step) > order.index(step):
            step = transition.current_step
    return step


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def project_update(project: Mapping[str, Any], transition: Transition, *,
                   crew_output: Any = None, now: str | None = None) -> dict[str, Any]:
    """The PATCH body for ``project`` (as Payload returned it) after ``transition``."""
    now = now or iso_now()
    status = project.get("workflowStatus")
    workflow: Mapping[str, Any] = status if isinstance(status, Mapping) else {}
    existing = workflow.get("completedSteps")
    kept = [_keep_row(row) for row in existing if isinstance(row, Mapping)] \
        if isinstance(existing, list) else []
    rows = [row for row in kept if row is not None]
    done = {row["step"] for row in rows}
    for step in transition.completes:
        if step.value not in done:
            rows.append({"step": step.value, "completedAt": now})
            done.add(step.value)
    update: dict[str, Any] = {
        "workflowStatus": {
            "currentStep": transition.current_step.value,
            "completedSteps": rows,
            "lastActivity": now,
        }
    }
    if transition.start_story and project.get("status") in (None, ProjectStatus.draft.value):
        update["status"] = ProjectStatus.story_in_progress.value
    if transition.stores_scenes:
        scenes = scenes_from_output(crew_output)
        if scenes is not None:
            update["generatedContent"] = {"scenes": scenes}
    if transition.stores_storyboard:
        board = storyboard_from_output(crew_output)
        if board is not None:
            # Payload merges a group's fields: the scenes stored earlier stay as they are
            update["generatedContent"] = {"storyboard": board}
    return update


def storyboard_from_output(output: Any) -> dict[str, Any] | None:
    """What ``generatedContent.storyboard`` holds for a storyboard crew's output; None if the
    output is not a storyboard."""
    if not isinstance(output, Mapping) or not isinstance(output.get("scenes"), list) \
            or not isinstance(output.get("bible"), Mapping):
        return None
    board = {key: output[key] for key in STORYBOARD_FIELDS if key in output}
    warnings = output.get("warnings")
    board["warnings"] = [str(w) for w in warnings] if isinstance(warnings, list) else []
    # as data (kind, scene, shots, shot_ids, ...); a storyboard made before it existed has none
    details = output.get("warning_details")
    board["warning_details"] = [dict(d) for d in details if isinstance(d, Mapping)] \
        if isinstance(details, list) else []
    return board


def _keep_row(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """An existing ``completedSteps`` row as sent back (its ``id`` keeps Payload's row)."""
    step = row.get("step")
    if step not in {member.value for member in WorkflowStep}:
        return None
    kept: dict[str, Any] = {"step": step}
    for key in ("id", "completedAt"):
        if row.get(key) is not None:
            kept[key] = row[key]
    return kept


# the director's scene plan ------------------------------------------------------------------

def _first(scene: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = scene.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, Mapping):
        return _text(_first(value, "name", "text", "description", "summary"))
    if isinstance(value, Sequence):
        parts = [t for t in (_text(v) for v in value) if t]
        return ", ".join(parts) or None
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().rstrip("s"))
        except ValueError:
            return None
    return None


def _duration(scene: Mapping[str, Any]) -> float | None:
    seconds = _number(_first(scene, "estimated_duration_seconds", "estimated_duration",
                             "duration_seconds", "duration", "estimatedDuration"))
    if seconds is not None:
        return seconds
    shots = scene.get("shots") or scene.get("shot_list")
    if isinstance(shots, list):
        total = [_duration(shot) for shot in shots if isinstance(shot, Mapping)]
        known = [t for t in total if t is not None]
        return sum(known) if known else None
    return None


def _heading(scene: Mapping[str, Any]) -> str | None:
    """An analysed scene's screenplay heading from its INT/EXT, location and DAY/NIGHT."""
    where = _text(scene.get("location"))
    if not where or not scene.get("int_ext"):
        return None
    when = _text(scene.get("day_night"))
    return f"{scene['int_ext']}. {where.upper()}" + (f" - {when}" if when else "")


def scene_row(scene: Mapping[str, Any], index: int, *, offline: bool = False) -> dict[str, Any]:
    """One ``generatedContent.scenes`` row from a planned (or analysed) scene, whatever its
    exact keys; ``offline`` marks it as the stand-in's."""
    number = _number(_first(scene, "number", "scene_number", "sceneNumber", "index"))
    row: dict[str, Any] = {
        "sceneNumber": int(number) if number is not None and number >= 1 else index + 1,
        "heading": _text(_first(scene, "heading", "slugline", "title")) or _heading(scene),
        "description": _text(_first(scene, "summary", "description", "synopsis", "heading",
                                    "title")),
        "location": _text(_first(scene, "location", "setting")),
    }
    duration = _duration(scene)
    if duration is not None and duration >= 0:
        row["estimatedDuration"] = round(duration, 1)
    if offline:
        for key in ("heading", "description"):
            row[key] = OFFLINE_MARK + (row[key] or "")
    return {key: value for key, value in row.items() if key in SCENE_FIELDS and value is not None}


def scenes_from_output(output: Any) -> list[dict[str, Any]] | None:
    """The rows for a director output (``{scenes: [...]}`` or a bare list); None if absent."""
    if isinstance(output, Mapping):
        scenes = output.get("scenes")
        if scenes is None:
            for key in ("scene_plan", "plan"):
                inner = output.get(key)
                if isinstance(inner, Mapping) and isinstance(inner.get("scenes"), list):
                    scenes = inner["scenes"]
                    break
    else:
        scenes = output
    if not isinstance(scenes, list):
        return None
    offline = is_offline(output)
    return [scene_row(scene, i, offline=offline) for i, scene in enumerate(scenes)
            if isinstance(scene, Mapping)]
