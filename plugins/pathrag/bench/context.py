"""CPU of the context formatting and budget fitting (``fit_budget``) inside full queries.

bench/graph.py's generated graph has no chunks, so its contexts are short; this adds story-sized
chunks (500 of ~6,000 characters, with commas and quotes) to the same graph and reports, over
300 "how is A connected to B" queries, the CPU per query and the part ``fit_budget`` takes.

    uv run python plugins/pathrag/bench/context.py [--chunks 500] [--queries 300]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import novelcrew_pathrag.retrieval as retrieval
from novelcrew_pathrag.models import CustomKG, QueryRequest, QueryResult
from novelcrew_pathrag.store import GraphStore

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from graph import generate  # bench/graph.py: the same generated graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=500)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()

    spent = [0.0]
    fit_budget = retrieval.fit_budget

    def timed(*a: Any, **k: Any) -> QueryResult:
        started = time.thread_time()
        try:
            return fit_budget(*a, **k)
        finally:
            spent[0] += time.thread_time() - started

    retrieval.fit_budget = timed  # type: ignore[assignment]  # _query looks it up per call

    entities, rels = generate(10_000, 50_000, 7)
    rng = random.Random(3)
    words = " ".join(e["description"] for e in entities[:400]).split()
    chunks = [{"content": "\n\n".join(
        " ".join(rng.choice(words) for _ in range(150)) + ', "she said," he said'
        for _ in range(6)), "source_id": f"chunk-{i}"} for i in range(args.chunks)]
    with tempfile.TemporaryDirectory() as tmp:
        store = GraphStore(Path(tmp) / "context.sqlite3")
        for start in range(0, len(entities), 1000):
            store.insert_custom_kg("bench", CustomKG.model_validate(
                {"entities": entities[start : start + 1000]}))
        for start in range(0, len(rels), 5000):
            store.insert_custom_kg("bench", CustomKG.model_validate(
                {"relationships": rels[start : start + 5000]}))
        store.insert_custom_kg("bench", CustomKG.model_validate({"chunks": chunks}))
        queries = [f"How is {rng.choice(entities)['entity_name']} connected to "
                   f"{rng.choice(entities)['entity_name']}?" for _ in range(args.queries)]
        for text in queries[:20]:  # warm the caches
            retrieval.query(store, "bench", QueryRequest(query=text))
        spent[0] = 0.0
        started = time.thread_time()
        for text in queries:
            retrieval.query(store, "bench", QueryRequest(query=text, top_k=20, max_tokens=4000))
        whole = time.thread_time() - started
        store.close()
    n = len(queries)
    print(f"{n} queries with {args.chunks} chunks: CPU per query {whole / n * 1000:.2f} ms, "
          f"fit_budget {spent[0] / n * 1000:.3f} ms ({100 * spent[0] / whole:.1f}%); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
