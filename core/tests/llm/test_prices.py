"""Prices of an estimate: which price a model id gets, and the caller's own first."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from novelcrew.llm.prices import Price, parse_price, parse_prices, price_for


def test_model_ids_find_their_list_price() -> None:
    sonnet = price_for("openrouter/anthropic/claude-sonnet-4")
    assert sonnet == Price(input=3.0, output=15.0)
    assert sonnet.cost(1_000_000, 100_000) == pytest.approx(4.5)
    assert price_for("openai/gpt-4o-mini") == Price(input=0.15, output=0.6)
    assert price_for("offline") == Price(input=0.0, output=0.0)
    assert price_for("openrouter/meta-llama/llama-3.3-70b-instruct:free") == \
        Price(input=0.0, output=0.0)
    # a local server's model (or any model not listed) has no price rather than a guess
    assert price_for("openai/llama3.1:8b") is None
    assert price_for("scripted") is None


def test_the_callers_price_wins() -> None:
    mine = Price(input=1.0, output=2.0)
    assert price_for("openrouter/anthropic/claude-sonnet-4",
                     {"openrouter/anthropic/claude-sonnet-4": mine}) == mine
    assert parse_price("openai/local=0.5,1.5") == ("openai/local", Price(input=0.5, output=1.5))
    assert parse_prices({"a": [1, 2], "b": {"input": 3, "output": 4}}) == {
        "a": Price(input=1, output=2), "b": Price(input=3, output=4)}
    for bad in ("openai/local", "m=1", "m=a,b", "=1,2"):
        with pytest.raises(ValueError, match="MODEL=IN,OUT"):
            parse_price(bad)
    with pytest.raises(ValidationError):
        parse_prices({"a": [-1, 2]})
    with pytest.raises(ValueError):
        parse_prices(["a"])
