"""The dry run's counting stand-in: what it counts as a call and as prompt tokens."""

from __future__ import annotations

import json

from novelcrew.estimate.standin import (
    CallRecord,
    Recorder,
    completion_estimate,
    offline_only_chars,
)


def _record(key: tuple[str, str], shaped: bool) -> CallRecord:
    return CallRecord(key=key, model="m", prompt_tokens=10, completion_tokens=5, shaped=shaped)


def test_retries_after_an_answer_the_crew_could_not_use_are_not_counted() -> None:
    recorder = Recorder()
    breakdown, chunk = ("Director", "Scene 1: breakdown"), ("Analyst", "Analyse")
    recorder.add(_record(breakdown, shaped=False))
    recorder.add(_record(breakdown, shaped=False))  # the crew asks again: the stand-in's doing
    recorder.add(_record(chunk, shaped=True))
    recorder.add(_record(chunk, shaped=True))  # a task asked twice on purpose counts twice
    assert [r.key for r in recorder.records] == [breakdown, chunk, chunk]


def test_only_the_schema_line_meant_for_the_stand_in_is_left_out() -> None:
    schema = json.dumps({"type": "object", "properties": {"summary": {"type": "string"}}})
    for_offline = f"SCENE 1\nJSON schema: {schema}\nAnswer with the JSON object only."
    assert offline_only_chars(for_offline) == len(f"JSON schema: {schema}\n")
    # a schema the real model reads too, inside a sentence, stays counted
    assert offline_only_chars(f"Answer valid against this JSON schema: {schema}") == 0
    assert offline_only_chars("JSON schema: {not json") == 0


def test_completion_sizes() -> None:
    assert completion_estimate(4000, 900, None) == 900  # the shaped answer's size
    assert completion_estimate(4000, None, None) == 1000  # a quarter of the prompt
    assert completion_estimate(100, None, None) == 200  # at least the floor
    assert completion_estimate(4000, 9000, 2000) == 2000  # never above max_tokens
