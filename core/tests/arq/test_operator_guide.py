"""The operator guide documents every setting (settings.py promises it does) and the worker
settings are options arq's ``Worker`` takes."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

from arq.worker import Worker

from novelcrew.backends.arq.worker import WorkerSettings, worker_settings
from novelcrew.plugins import load
from novelcrew.settings import Settings

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "operator-guide.md"


def test_every_setting_and_alias_is_in_the_operator_guide() -> None:
    text = GUIDE.read_text()
    missing = [
        name for field in Settings.model_fields.values()
        for name in (field.validation_alias.choices if field.validation_alias else [])  # type: ignore[union-attr]
        if f"`{name}`" not in text
    ]
    assert missing == []


def test_worker_settings_are_arq_worker_options_built_from_settings() -> None:
    settings = Settings(_env_file=None, concurrency=7, worker_poll_delay_seconds=0.03,
                        worker_grace_seconds=12, queue_name="x:queue")
    ws = worker_settings(settings, load(allow=[], include_entry_points=False))
    accepted = set(inspect.signature(Worker).parameters)
    options = {field.name for field in dataclasses.fields(WorkerSettings)}
    assert options <= accepted, options - accepted  # a typo or an option arq dropped
    assert (ws.max_jobs, ws.poll_delay, ws.job_completion_wait, ws.queue_name) == (
        7, 0.03, 12, "x:queue")
    assert ws.allow_abort_jobs is True
    # arq's own timeout (default 300 s) would kill a long job: it sits above ours, which fails
    # the job as data first
    assert ws.job_timeout > settings.job_timeout_seconds
