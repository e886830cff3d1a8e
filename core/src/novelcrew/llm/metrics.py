"""Prometheus counters of model calls, tokens and cost (the default registry, served at /metrics).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

MODEL_CALLS = Counter(
    "novelcrew_model_calls_total",
    "Model calls by model and outcome (ok, error: a failed attempt, gave_up: no model answered, "
    "cached: answered from the cache, a job's checkpoint or a recording).",
    ["model", "outcome"],
)
MODEL_TOKENS = Counter(
    "novelcrew_model_tokens_total",
    "Tokens reported by providers, by model and kind (prompt, completion).",
    ["model", "kind"],
)
MODEL_COST = Counter(
    "novelcrew_model_cost_total",
    "Cost reported by providers (OpenRouter reports USD), by model.",
    ["model"],
)
MODEL_SECONDS = Histogram(
    "novelcrew_model_call_seconds",
    "Duration of successful model calls.",
    ["model"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80, 160),
)


def observe_call(model: str, seconds: float, prompt_tokens: int, completion_tokens: int,
                 cost: float | None) -> None:
    MODEL_CALLS.labels(model, "ok").inc()
    MODEL_SECONDS.labels(model).observe(seconds)
    if prompt_tokens:
        MODEL_TOKENS.labels(model, "prompt").inc(prompt_tokens)
    if completion_tokens:
        MODEL_TOKENS.labels(model, "completion").inc(completion_tokens)
    if cost:
        MODEL_COST.labels(model).inc(cost)


def observe_failure(model: str, outcome: str = "error") -> None:
    MODEL_CALLS.labels(model, outcome).inc()


def observe_reused(model: str) -> None:
    """A call answered from the cache, a job's checkpoint or a recording."""
    MODEL_CALLS.labels(model, "cached").inc()
