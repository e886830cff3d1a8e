"""Which temperature and max tokens a model call gets: one rule, for every crew.

The most specific setting wins, as in CSS or kubectl:

1. ``config.tasks.<task>.temperature`` / ``max_tokens``: one task of this job;
2. ``config.temperature`` / ``max_tokens``: every task of this job;
3. the crew's own default for the task (``ctx.llm(role, task=..., temperature=...)``);
4. the server's ``NOVELCREW_MODEL_TEMPERATURE`` / ``NOVELCREW_MODEL_MAX_TOKENS``;
5. the provider's default.

``resolve`` applies 1-3 (the router, ``router.build_llm``); the provider's LLM carries 4
(``providers.build_provider_llm``). Crews pass their defaults and task name and never read
these config keys themselves, so a job's settings mean the same whichever crew runs. No
crewAI here: the API checks a job's config with these models at submission.

Public (docs/hooks.md): a crew's ``config_model`` subclasses ``TaskSampling`` to tighten a
bound, so its checks of these keys stay core's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from novelcrew.errors import InvalidInput

__all__ = ["MAX_ANSWER_TOKENS", "JobSampling", "TaskSampling", "config_errors", "resolve",
           "whole_number"]

#: the largest ``max_tokens`` a job may ask for (as ``POST /crews/execute`` has it)
MAX_ANSWER_TOKENS = 1_000_000


def whole_number(value: Any) -> Any:
    """``4000.0`` is the whole number 4000 (a JSON client may only have floats); text,
    booleans and fractions stay as they are, for the strict field to refuse."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class TaskSampling(BaseModel):
    """Sampling of one task (``config.tasks.<task>``), or of every task (``config``)."""

    model_config = ConfigDict(extra="allow")

    temperature: float | None = Field(None, ge=0, le=2, strict=True,
                                      description="Sampling temperature, 0-2.")
    max_tokens: int | None = Field(None, ge=1, le=MAX_ANSWER_TOKENS, strict=True,
                                   description="Most tokens per model answer.")

    _whole_max_tokens = field_validator("max_tokens", mode="before")(whole_number)


class JobSampling(TaskSampling):
    """A job config's sampling keys: job-wide, and per task under ``tasks``."""

    tasks: dict[str, TaskSampling] | None = Field(
        None, description="Per task, by the task's name: {\"shot_list\": {\"temperature\": 0.9}}.")


def config_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """``exc``'s errors as the API's ``details.errors`` (``loc`` from ``config``, no input)."""
    return [{"loc": ["config", *(p if isinstance(p, str | int) else str(p)
                                  for p in e.get("loc", ()))],
             "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)]


def resolve(config: Mapping[str, Any] | None, task: str | None, *,
            temperature: float | None = None,
            max_tokens: int | None = None) -> dict[str, Any]:
    """``temperature`` and ``max_tokens`` for ``task``: the crew's defaults given here, under
    the job's ``config``, under its ``config.tasks.<task>`` (None: not set at any of these).

    A job's config was checked at submission; one that was not (a job run straight from
    Python) is an ``InvalidInput`` with the API's ``details.errors``."""
    try:
        options = JobSampling.model_validate(dict(config or {}))
    except ValidationError as exc:
        errors = config_errors(exc)
        named = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        raise InvalidInput(f"invalid config: {named}", {"errors": errors}) from None
    chosen: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
    layers: list[TaskSampling] = [options]
    if task is not None and options.tasks and task in options.tasks:
        layers.append(options.tasks[task])
    for layer in layers:  # least specific first: a later layer wins
        for key in chosen:
            value = getattr(layer, key)
            if value is not None:
                chosen[key] = value
    return chosen
