"""The reply stores the inline backend and the test double provide (the Redis one is tested
in core/tests/arq/test_kept_answers.py): cached answers expire, checkpoints are per job and
dropped, and the SQLite file keeps both across a restart."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from novelcrew.backends.inline.replies import SQLiteReplies
from novelcrew.backends.memory import MemoryStore
from novelcrew.llm.replies import MemoryReplies, ReplyStore

ENTRY = {"kind": "text", "text": "hello", "usage": {"prompt_tokens": 3, "cost": 0.001}}


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ReplyStore:
    return MemoryReplies() if request.param == "memory" else SQLiteReplies(tmp_path / "r.db")


def test_cached_answers_expire_after_their_ttl(store: ReplyStore) -> None:
    store.put("short", ENTRY, 0.05)
    store.put("long", ENTRY, 3600)
    store.put("forever", ENTRY, None)
    assert store.get("short") == ENTRY
    time.sleep(0.1)
    assert store.get("short") is None
    assert store.get("long") == ENTRY and store.get("forever") == ENTRY
    assert store.get("never") is None


def test_checkpoints_are_per_job_and_dropped(store: ReplyStore) -> None:
    store.checkpoint_put("a", "crew:k:1", ENTRY)
    store.checkpoint_put("a", "crew:k:2", {**ENTRY, "text": "again"})
    store.checkpoint_put("b", "crew:k:1", ENTRY)
    assert store.checkpoint_get("a", "crew:k:2") == {**ENTRY, "text": "again"}
    store.checkpoint_drop("a")
    assert store.checkpoint_get("a", "crew:k:1") is None
    assert store.checkpoint_get("b", "crew:k:1") == ENTRY


def test_the_sqlite_file_keeps_answers_and_checkpoints_across_a_restart(tmp_path: Path) -> None:
    first = SQLiteReplies(tmp_path / "r.db")
    first.put("k", ENTRY, 3600)
    first.checkpoint_put("job", "crew:k:1", ENTRY)
    first.close()
    again = SQLiteReplies(tmp_path / "r.db")
    assert again.get("k") == ENTRY
    assert again.checkpoint_get("job", "crew:k:1") == ENTRY


def test_the_memory_store_keeps_answers_only_when_given_a_reply_store() -> None:
    assert MemoryStore().reply_store() is None
    replies = MemoryReplies()
    assert MemoryStore(replies).reply_store() is replies
