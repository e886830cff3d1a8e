"""Entry point of the eval plugin: the ``novelcrew eval`` command and the ``eval-judge`` crew.

Kept light: the command's module (and the pipeline it runs) is imported only when the CLI is
built, and the judge's prompts only when a judge job runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from novelcrew import Crew, hookimpl
from novelcrew_eval.judge import EXAMPLE_INPUTS, JudgeInput, JudgeReport

if TYPE_CHECKING:
    import typer

__all__ = ["register_commands", "register_crews"]


async def _judge(ctx: Any, inputs: JudgeInput) -> JudgeReport:
    from novelcrew_eval.judge import run

    return await run(ctx, inputs)


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    """Add ``eval`` to the ``novelcrew`` command (a ``typer.Typer``)."""
    from novelcrew_eval.cli import attach

    attach(cli)


@hookimpl
def register_crews(register: Any) -> None:
    register(Crew(
        name="eval-judge",
        description="Quality judge for `novelcrew eval --judge`: scores each scene's analysis "
        "1-5 against the scene's text with quoted evidence, and compares two analyses in both "
        "orders.",
        input_model=JudgeInput,
        output_model=JudgeReport,
        run=_judge,
        version="0.1.0",
        agents=("Judge",),
        estimated_seconds=60,
        example_inputs=EXAMPLE_INPUTS,
    ))
