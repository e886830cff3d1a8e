"""Recorded model replies: record every model answer once, replay it offline after.

Quality is measured on real models (``novelcrew eval``), but CI has no key and no network.
With ``NOVELCREW_LLM_RECORD=DIR`` every answered model request is written to
``DIR/<key>.json``; with ``NOVELCREW_LLM_REPLAY=DIR`` the same requests are answered from those
files and a request that was never recorded fails the job with ``NotRecorded`` ("not recorded:
re-record ...") instead of reaching a network. With both set, recorded requests are replayed
and new ones are asked and recorded (topping a recording up).

It sits on the model layer's one seam (``RoutedLLM``, through ``llm/reuse.py``), keyed like
the response cache and the job checkpoints (``request_key``: model id, messages, response
schema, tools, sampling parameters), so it works for every provider and both job backends.
A file holds the canonical request and the answer with its usage; no header, API key, job id
or user id is ever part of either, so secrets never enter a recording. Models answered in
this process (``offline``, the SDK's scripted LLM) are neither recorded nor replayed: they
need no network. Only successful answers are recorded (a 429 must not be replayed forever).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novelcrew.errors import NotRecorded

if TYPE_CHECKING:
    from novelcrew.settings import Settings

__all__ = ["RECORD_ENV", "REPLAY_ENV", "Recording"]

RECORD_ENV = "NOVELCREW_LLM_RECORD"
REPLAY_ENV = "NOVELCREW_LLM_REPLAY"
_FORMAT = 2


class Recording:
    """Reads answers from a replay directory and writes answers to a record directory."""

    def __init__(self, record: Path | None = None, replay: Path | None = None) -> None:
        self.record = record
        self.replay = replay
        if replay is not None and not replay.is_dir():
            raise NotRecorded(f"{REPLAY_ENV}: no recording directory at {replay}",
                              {"replay": str(replay)})
        if record is not None:
            record.mkdir(parents=True, exist_ok=True)

    @classmethod
    def of(cls, settings: Settings) -> Recording | None:
        """The recording the settings ask for, or None."""
        if settings.llm_record_dir is None and settings.llm_replay_dir is None:
            return None
        return cls(settings.llm_record_dir, settings.llm_replay_dir)

    def find(self, key: str, model_id: str) -> dict[str, Any] | None:
        """The recorded answer for ``key``; None if it may be asked live (nothing replayed,
        or also recording); ``NotRecorded`` if replaying only and the key is missing."""
        if self.replay is None:
            return None
        path = self.replay / f"{key}.json"
        if path.is_file():
            answer = json.loads(path.read_text(encoding="utf-8")).get("answer")
            if isinstance(answer, dict):
                return answer
        if self.record is not None:
            return None
        raise self.missing(key, model_id)

    def missing(self, key: str, model_id: str, why: str = "") -> NotRecorded:
        return NotRecorded(
            f"not recorded: re-record (no answer for request {key} to {model_id} in "
            f"{self.replay}{why}; run once with {RECORD_ENV}=DIR and a real model)",
            {"key": key, "model": model_id, "replay": str(self.replay)},
        )

    def save(self, key: str, request: str, answer: dict[str, Any]) -> None:
        """Write one answer (``request`` is the canonical request JSON)."""
        if self.record is None:
            return
        entry = {"format": _FORMAT, "key": key, "request": json.loads(request),
                 "answer": answer}
        _write_atomically(self.record / f"{key}.json",
                          json.dumps(entry, ensure_ascii=False, indent=1, sort_keys=True))


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
