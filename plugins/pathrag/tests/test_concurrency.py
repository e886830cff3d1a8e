"""Many jobs writing and reading one store at once: threads and processes, no lost writes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from novelcrew_pathrag.models import CustomKG, QueryRequest
from novelcrew_pathrag.retrieval import query
from novelcrew_pathrag.store import GraphStore

PER_WRITER = 40

WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from novelcrew_pathrag.models import CustomKG, QueryRequest
    from novelcrew_pathrag.retrieval import query
    from novelcrew_pathrag.store import GraphStore

    db, tag, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    store = GraphStore(db)
    (go.parent / f"ready-{tag}").touch()
    while not go.exists():
        time.sleep(0.01)
    for j in range(count):
        store.insert_custom_kg("shared", CustomKG.model_validate({
            "entities": [
                {"entity_name": f"{tag}-{j}", "entity_type": "object",
                 "description": f"Made by {tag}."},
                {"entity_name": "Maya", "entity_type": "character",
                 "description": f"Fact {tag} {j}."},
            ],
            "relationships": [{"src_id": "Maya", "tgt_id": f"{tag}-{j}", "keywords": "owns",
                               "weight": 1.0}],
        }))
        if j % 5 == 0:
            query(store, "shared", QueryRequest(query=f"Maya {tag}", top_k=5))
    print("done", tag)
""")


def _write(store: GraphStore, tag: str, count: int, errors: list[BaseException]) -> None:
    try:
        for j in range(count):
            store.insert_custom_kg("shared", CustomKG.model_validate({
                "entities": [
                    {"entity_name": f"{tag}-{j}", "entity_type": "object",
                     "description": f"Made by {tag}."},
                    {"entity_name": "Maya", "entity_type": "character",
                     "description": f"Fact {tag} {j}."},
                ],
                "relationships": [{"src_id": "Maya", "tgt_id": f"{tag}-{j}",
                                   "keywords": "owns", "weight": 1.0}],
            }))
            if j % 5 == 0:
                result = query(store, "shared", QueryRequest(query=f"Maya {tag}", top_k=5))
                assert result.entities
    except BaseException as exc:
        errors.append(exc)


def test_threads_and_processes_write_one_store_without_losing_anything(tmp_path: Path) -> None:
    db = tmp_path / "pathrag.sqlite3"
    go = tmp_path / "go"
    store = GraphStore(db)
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(db), tag, str(PER_WRITER), str(go)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for tag in ("procA", "procB")
    ]
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_write, args=(store, f"thread{i}", PER_WRITER, errors))
        for i in range(6)
    ]
    # start everyone together: wait until both processes have opened the store
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{t}").exists() for t in ("procA", "procB")):
        assert time.monotonic() < deadline, "writer processes did not start"
        time.sleep(0.05)
    go.touch()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    outputs = [p.communicate(timeout=240) for p in processes]
    assert errors == []
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert "database is locked" not in err
        assert out.startswith("done")

    tags = ["procA", "procB", *(f"thread{i}" for i in range(6))]
    writes = len(tags) * PER_WRITER
    assert store.counts("shared") == {"entities": writes + 1, "relationships": writes,
                                      "chunks": 0}
    # every writer's sentence was merged into the one shared entity: no lost update
    result = query(store, "shared", QueryRequest(query="Maya", top_k=1, max_tokens=100_000))
    maya = result.entities[0]
    assert maya.name == "Maya"
    facts = set(maya.description.replace("Fact ", "\n").split("\n")) - {""}
    assert {fact.strip().rstrip(".") for fact in facts} == {
        f"{tag} {j}" for tag in tags for j in range(PER_WRITER)
    }
    store.close()


def test_two_stores_on_one_file_see_each_others_commits(tmp_path: Path) -> None:
    first, second = GraphStore(tmp_path / "g.sqlite3"), GraphStore(tmp_path / "g.sqlite3")
    first.insert_custom_kg("p", CustomKG.model_validate(
        {"entities": [{"entity_name": "Tom", "entity_type": "character"}]}))
    assert second.counts("p")["entities"] == 1
    assert second.delete_entity("p", "tom") is True  # names match case-insensitively
    assert first.counts("p")["entities"] == 0
    first.close()
    second.close()


def test_a_write_elsewhere_is_seen_by_the_next_query(tmp_path: Path) -> None:
    """Adjacency read by one query is reused, but never after another writer changed it."""
    reader, writer = GraphStore(tmp_path / "g.sqlite3"), GraphStore(tmp_path / "g.sqlite3")
    writer.insert_custom_kg("p", CustomKG.model_validate({
        "entities": [{"entity_name": n, "entity_type": "character"} for n in "ABCD"],
        "relationships": [{"src_id": "A", "tgt_id": "B"}, {"src_id": "C", "tgt_id": "D"}],
    }))
    before = query(reader, "p", QueryRequest(query="A D"))
    assert before.paths == []
    writer.insert_custom_kg("p", CustomKG.model_validate(
        {"relationships": [{"src_id": "B", "tgt_id": "C"}]}))
    after = query(reader, "p", QueryRequest(query="A D"))
    assert ["A", "B", "C", "D"] in after.paths or ["D", "C", "B", "A"] in after.paths
    writer.delete_entity("p", "B")
    assert query(reader, "p", QueryRequest(query="A D")).paths == []
    reader.close()
    writer.close()


def test_a_forked_process_opens_its_own_connections(tmp_path: Path) -> None:
    import os

    store = GraphStore(tmp_path / "g.sqlite3")
    store.insert_custom_kg("p", CustomKG.model_validate(
        {"entities": [{"entity_name": "Maya", "entity_type": "character"}]}))
    pid = os.fork()
    if pid == 0:  # the child writes through the store object it inherited
        code = 1
        try:
            store.insert_custom_kg("p", CustomKG.model_validate(
                {"entities": [{"entity_name": "Tom", "entity_type": "character"}]}))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.counts("p")["entities"] == 2
    store.close()
