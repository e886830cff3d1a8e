"""The context a query returns, pinned for a fixed graph: speed work on retrieval and budget
fitting must leave every character (and the structured fields) as they were.

The graph is generated from a fixed seed with the text CSV must quote (commas, double quotes,
line breaks) and story chunks long enough that small budgets cut them. The expected results
in ``data/context_pinned.json`` (context text, the structured fields' digest) were written by
the code before the formatting was made faster; to rewrite them after a deliberate change of
the layout, run this file as a script.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from novelcrew_pathrag.models import CustomKG, QueryRequest
from novelcrew_pathrag.retrieval import fit_budget, query
from novelcrew_pathrag.store import GraphStore

PINNED = Path(__file__).parent / "data" / "context_pinned.json"
WORDS = ["fog", "lantern", "reef", "harbour", "smuggler", "ledger", "brass", "tide", "cliff",
         "signal", "cargo", "canvas", "pier", "storm", "keeper", "oath", "rope", "salt"]
ODD = [",", '"', "\n", "\r\n", " , ", '""', "'", "\t", "é", "—"]


def _text(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    for _ in range(rng.randint(0, 3)):
        words.insert(rng.randrange(len(words) + 1), rng.choice(ODD))
    return " ".join(words)


def build_graph(store: GraphStore, ns: str) -> None:
    rng = random.Random(20261203)
    types = ["character", "location", "object", "scene"]
    names = [f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {i}" for i in range(120)]
    names[3] = 'Maya "the Keeper", Reyes'
    names[7] = "Tom, of the Pier"
    entities = [{"entity_name": name, "entity_type": types[i % len(types)],
                 "description": _text(rng, 8, 40), "source_id": f"chunk-{i // 6}"}
                for i, name in enumerate(names)]
    rels, seen = [], set()
    while len(rels) < 400:
        a, b = rng.randrange(len(names)), rng.randrange(len(names))
        if a == b or (a, b) in seen:
            continue
        seen.add((a, b))
        rels.append({"src_id": names[a], "tgt_id": names[b], "keywords": rng.choice(WORDS),
                     "description": _text(rng, 3, 12), "weight": round(rng.uniform(0.5, 3), 2),
                     "source_id": f"chunk-{a // 6}<SEP>chunk-{b // 6}"})
    chunks = [{"content": "\n\n".join(_text(rng, 20, 60) for _ in range(rng.randint(1, 4))),
               "source_id": f"chunk-{i}"} for i in range(20)]
    store.insert_custom_kg(ns, CustomKG.model_validate(
        {"entities": entities, "relationships": rels, "chunks": chunks}))


CASES: list[dict[str, Any]] = [
    {"query": f"How is {a} connected to {b}?", "top_k": k, "max_tokens": t}
    for a, b in [('Maya "the Keeper", Reyes', "Tom, of the Pier"), ("fog", "cargo")]
    for k in (5, 20, 50) for t in (50, 300, 1200, 4000, 9000)
] + [
    {"query": "smuggler lantern reef signal", "top_k": 20, "max_tokens": t,
     "entity_types": ["character"]} for t in (50, 400, 4000)
] + [
    {"query": "characters", "top_k": 40, "max_tokens": t} for t in (60, 500, 5000)
] + [
    {"query": "brass ledger tide", "top_k": 10, "max_tokens": t} for t in (80, 700, 3000)
] + [
    {"query": "nothing matches zzqx", "top_k": 10, "max_tokens": 500},
]


def run_cases(tmp: Path) -> list[dict[str, Any]]:
    store = GraphStore(tmp / "pinned.sqlite3")
    try:
        build_graph(store, "pinned")
        results = []
        for case in CASES:
            result = query(store, "pinned", QueryRequest.model_validate(case)).model_dump()
            context = result.pop("context")
            # the fields repeat the context's text: pinned by digest, to keep the file small
            digest = hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()
            results.append({"context": context, "fields_sha256": digest,
                            "counts": {k: len(v) for k, v in result.items()}})
        return results
    finally:
        store.close()


def test_context_and_fields_are_as_pinned(tmp_path: Path) -> None:
    expected = json.loads(PINNED.read_text(encoding="utf-8"))
    results = run_cases(tmp_path)
    assert len(results) == len(expected)
    for case, got, want in zip(CASES, results, expected, strict=True):
        assert got == want, case
    # the cases reach what the budget code decides: cut sources, empty and full sections
    assert any(r["context"].endswith(' ..."\n```\n') for r in results)
    assert any(r["counts"]["paths"] for r in results) and any(not r["context"] for r in results)


def test_fit_budget_keeps_what_fits_of_a_very_long_row() -> None:
    """A source far larger than the budget is cut to fit, not dropped or left whole."""
    chunk = ("salt, " + '"fog" ') * 5000
    result = fit_budget(QueryRequest(query="x", max_tokens=300), [], [], [], [("c-1", chunk)],
                        lambda s: s)
    assert len(result.context) <= 300 * 4
    assert result.chunks and result.chunks[0].content.endswith(" ...")
    assert chunk.startswith(result.chunks[0].content[: -len(" ...")])


if __name__ == "__main__":  # rewrite the pinned results (only after a deliberate change)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        PINNED.write_text(json.dumps(run_cases(Path(tmp)), indent=1, ensure_ascii=False) + "\n",
                          encoding="utf-8")
