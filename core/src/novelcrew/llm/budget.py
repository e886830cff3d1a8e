"""A job's cap on tokens and money, checked before every model call.

``config.max_cost_usd`` and ``config.max_tokens_total`` set the caps of one job;
``NOVELCREW_MAX_JOB_COST_USD`` and ``NOVELCREW_MAX_JOB_TOKENS`` are the defaults (none: no
cap). What counts is what the job has spent so far on every model, over all its crews and
attempts (prompt plus completion tokens; cost as the provider reports it): answers from the
cache or the job's checkpoint cost nothing and do not count. A call is refused once the job
has reached a cap, so calls already in flight may take a job a little past it (at most one
answer per concurrent call). The job then fails with ``BudgetExceeded`` (type
``budget_exceeded``); crews that finished before keep their results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from novelcrew.errors import BudgetExceeded, InvalidInput

if TYPE_CHECKING:
    from novelcrew.jobs import ModelUsage
    from novelcrew.settings import Settings

__all__ = ["COST_KEY", "TOKENS_KEY", "Budget"]

COST_KEY = "max_cost_usd"
TOKENS_KEY = "max_tokens_total"


def _number(config: Mapping[str, Any], key: str, *, integer: bool) -> float | None:
    value = config.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 \
            or (integer and (value != int(value) or value < 1)):
        kind = "a whole number of at least 1" if integer else "a number of at least 0"
        message = f"must be {kind}"
        raise InvalidInput(f"config.{key} {message}", {
            "config": key, "value": str(value)[:50],
            "errors": [{"loc": ["config", key], "msg": message, "type": "value_error"}]})
    return float(value)


@dataclass(frozen=True)
class Budget:
    """The caps of one job (None: no cap)."""

    max_cost_usd: float | None = None
    max_tokens: int | None = None

    @classmethod
    def of_job(cls, config: Mapping[str, Any], settings: Settings) -> Budget:
        """The job's caps: its config over the settings; ``InvalidInput`` for a bad value."""
        cost = _number(config, COST_KEY, integer=False)
        tokens = _number(config, TOKENS_KEY, integer=True)
        return cls(
            max_cost_usd=cost if cost is not None else settings.max_job_cost_usd,
            max_tokens=int(tokens) if tokens is not None else settings.max_job_tokens,
        )

    @property
    def unlimited(self) -> bool:
        return self.max_cost_usd is None and self.max_tokens is None

    def check(self, usages: Iterable[ModelUsage]) -> None:
        """Raise ``BudgetExceeded`` if what ``usages`` add up to has reached a cap."""
        if self.unlimited:
            return
        tokens, cost = 0, 0.0
        for usage in usages:
            tokens += usage.prompt_tokens + usage.completion_tokens
            cost += usage.cost or 0.0
        spent = {"tokens": tokens, "cost_usd": round(cost, 6)}
        if self.max_tokens is not None and tokens >= self.max_tokens:
            raise BudgetExceeded(
                f"the job used {tokens} tokens, reaching its cap of {self.max_tokens} "
                f"(config.{TOKENS_KEY}); stopped before the next model call",
                {"limit": TOKENS_KEY, "max_tokens_total": self.max_tokens, "spent": spent})
        if self.max_cost_usd is not None and cost >= self.max_cost_usd:
            raise BudgetExceeded(
                f"the job spent ${cost:.4f}, reaching its cap of ${self.max_cost_usd:g} "
                f"(config.{COST_KEY}); stopped before the next model call",
                {"limit": COST_KEY, "max_cost_usd": self.max_cost_usd, "spent": spent})
