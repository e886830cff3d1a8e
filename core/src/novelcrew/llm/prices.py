"""Prices per million tokens, for money figures a provider did not report itself.

OpenRouter reports each call's cost in its ``usage`` (the router records that); an estimate is
made before any call, so it prices tokens with this table instead. The figures are the
providers' published list prices (USD per million prompt / completion tokens, OpenRouter's
model names) as of ``PRICES_AS_OF``; prices change, so a caller may pass its own
(``--price MODEL=IN,OUT`` on the command line, ``config.prices`` on ``POST /jobs``). A model
answered in this process (``offline``) and OpenRouter's ``:free`` variants cost nothing; any
other model not in the table has no known price, and its cost is left out rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["PRICES", "PRICES_AS_OF", "Price", "parse_price", "parse_prices", "price_for"]

PRICES_AS_OF = "2025-06"


class Price(BaseModel):
    """USD per million tokens."""

    input: float = Field(ge=0, description="USD per million prompt tokens.")
    output: float = Field(ge=0, description="USD per million completion tokens.")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


def _p(input: float, output: float) -> Price:
    return Price(input=input, output=output)


#: list prices by ``vendor/model`` (as OpenRouter names them; ``openai/<name>`` ids match too)
PRICES: dict[str, Price] = {
    "anthropic/claude-opus-4": _p(15.0, 75.0),
    "anthropic/claude-opus-4.1": _p(15.0, 75.0),
    "anthropic/claude-sonnet-4": _p(3.0, 15.0),
    "anthropic/claude-sonnet-4.5": _p(3.0, 15.0),
    "anthropic/claude-3.7-sonnet": _p(3.0, 15.0),
    "anthropic/claude-3.5-sonnet": _p(3.0, 15.0),
    "anthropic/claude-haiku-4.5": _p(1.0, 5.0),
    "anthropic/claude-3.5-haiku": _p(0.8, 4.0),
    "openai/gpt-5": _p(1.25, 10.0),
    "openai/gpt-5-mini": _p(0.25, 2.0),
    "openai/gpt-5-nano": _p(0.05, 0.4),
    "openai/gpt-4.1": _p(2.0, 8.0),
    "openai/gpt-4.1-mini": _p(0.4, 1.6),
    "openai/gpt-4.1-nano": _p(0.1, 0.4),
    "openai/gpt-4o": _p(2.5, 10.0),
    "openai/gpt-4o-mini": _p(0.15, 0.6),
    "google/gemini-2.5-pro": _p(1.25, 10.0),
    "google/gemini-2.5-flash": _p(0.3, 2.5),
    "google/gemini-2.0-flash-001": _p(0.1, 0.4),
    "deepseek/deepseek-chat": _p(0.27, 1.1),
    "meta-llama/llama-3.3-70b-instruct": _p(0.13, 0.4),
    "mistralai/mistral-large": _p(2.0, 6.0),
}
FREE = Price(input=0.0, output=0.0)


def price_for(model_id: str, overrides: Mapping[str, Price] | None = None) -> Price | None:
    """The price of ``model_id``: the caller's own first, then free local models, then the
    table; None when unknown."""
    if overrides and model_id in overrides:
        return overrides[model_id]
    provider, _, name = model_id.partition("/")
    if provider == "offline":
        return FREE
    if name.endswith(":free"):
        return FREE
    key = name if provider == "openrouter" else model_id
    return PRICES.get(key.split(":", 1)[0].lower())


def parse_price(text: str) -> tuple[str, Price]:
    """``MODEL=IN,OUT`` (USD per million prompt and completion tokens) as a table entry."""
    model, sep, numbers = text.rpartition("=")
    parts = numbers.split(",")
    if not sep or not model.strip() or len(parts) != 2:
        raise ValueError(f"a price is MODEL=IN,OUT (USD per million tokens), not {text!r}")
    try:
        return model.strip(), Price(input=float(parts[0]), output=float(parts[1]))
    except ValueError as exc:
        raise ValueError(f"a price is MODEL=IN,OUT with two numbers >= 0, not {text!r}") \
            from exc


def parse_prices(value: Any) -> dict[str, Price]:
    """A job's ``config.prices``: ``{model: [in, out]}`` or ``{model: {"input", "output"}}``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError("config.prices must map model ids to [input, output] USD per "
                         "million tokens")
    out: dict[str, Price] = {}
    for model, price in value.items():
        if isinstance(price, list | tuple) and len(price) == 2:
            price = {"input": price[0], "output": price[1]}
        out[str(model)] = Price.model_validate(price)
    return out
