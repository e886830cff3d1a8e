"""What an estimate answers: calls, tokens and money per model and per crew, before any spend."""

from __future__ import annotations

from pydantic import BaseModel, Field

from novelcrew.llm.prices import Price


class ModelEstimate(BaseModel):
    """The expected spend on one routed model."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = Field(
        None, description="Tokens at the model's price; null when its price is unknown.")
    price: Price | None = Field(None, description="The price used (USD per million tokens).")


class CrewEstimate(BaseModel):
    """The expected model work of one crew of the chain."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    models: list[str] = Field(default_factory=list)


class Totals(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = Field(
        None, description="The sum over models; null when any model's price is unknown.")


class Estimate(BaseModel):
    """A dry run's answer: nothing was called, stored or written."""

    dry_run: bool = True
    crews: list[str]
    models: dict[str, ModelEstimate] = Field(description="By routed model id.")
    by_crew: dict[str, CrewEstimate] = Field(description="By crew name, in chain order.")
    total: Totals
    story_tokens: int | None = Field(
        None, description="The story's tokens (about four characters a token), if one was given.")
    seconds: float = Field(description="How long the estimate took.")
    method: str = Field(description="How the figures were made (see docs/user-guide.md).")
    notes: list[str] = Field(default_factory=list)
