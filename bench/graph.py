"""Benchmark of the embedded knowledge graph (novelcrew-pathrag) at story-world scale.

Inserts a generated graph (default 10,000 entities, 50,000 relationships) into one project's
namespace, then runs a few hundred queries through the full retrieval (seed search, relational
paths, ranking, budgeted context) and, as the baseline, a bare SQLite FTS5 lookup of the same
words on the same entity index. Prints throughput, latency p50/p99 and the ratios.

    uv run python bench/graph.py [--entities 10000] [--relationships 50000] [--queries 300]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from novelcrew_pathrag.models import CustomKG, QueryRequest
from novelcrew_pathrag.retrieval import fts_match, query
from novelcrew_pathrag.store import GraphStore, ns_token

TYPES = ["character", "location", "object", "scene", "theme", "shot"]
KEYWORDS = ["appears_in", "located_in", "precedes", "relationship", "features", "theme_of"]
SYLLABLES = ["ka", "ra", "vo", "ss", "el", "ia", "to", "mi", "ren", "dal", "or", "an", "th",
             "is", "ul", "gar", "bel", "yn", "qu", "os", "fen", "wick", "mar", "lo"]


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def generate(n_entities: int, n_relationships: int, seed: int) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    words = vocabulary(rng)
    entities = []
    for i in range(n_entities):
        kind = TYPES[i % len(TYPES)]
        name = (f"Scene {i}" if kind == "scene" else
                f"{rng.choice(words).title()} {rng.choice(words).title()} {i}")
        entities.append({
            "entity_name": name, "entity_type": kind,
            "description": " ".join(rng.choice(words) for _ in range(rng.randint(12, 30))) + ".",
            "source_id": f"chunk-{i // 20}",
        })
    # a few hubs (main characters, recurring locations) and a long tail, like a story world
    weights = [1.0 / (1 + i) ** 0.6 for i in range(n_entities)]
    names = [e["entity_name"] for e in entities]
    seen: set[tuple[int, int]] = set()
    rels: list[dict] = []
    while len(rels) < n_relationships:
        a = rng.choices(range(n_entities), weights=weights)[0] if rng.random() < 0.3 else (
            rng.randrange(n_entities))
        b = rng.randrange(n_entities)
        if a == b or (a, b) in seen:
            continue
        seen.add((a, b))
        rels.append({
            "src_id": names[a], "tgt_id": names[b], "keywords": rng.choice(KEYWORDS),
            "description": " ".join(rng.choice(words) for _ in range(rng.randint(4, 10))),
            "weight": round(rng.uniform(0.5, 3.0), 2), "source_id": f"chunk-{a // 20}",
        })
    return entities, rels


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--relationships", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cold", action="store_true",
                        help="drop the adjacency cache before every query (worst case)")
    args = parser.parse_args()

    entities, rels = generate(args.entities, args.relationships, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        store = GraphStore(Path(tmp) / "pathrag.sqlite3")
        ns = "bench"
        started = time.perf_counter()
        for start in range(0, len(entities), args.batch):
            store.insert_custom_kg(ns, CustomKG.model_validate(
                {"entities": entities[start : start + args.batch]}))
        entity_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for start in range(0, len(rels), args.batch * 5):
            store.insert_custom_kg(ns, CustomKG.model_validate(
                {"relationships": rels[start : start + args.batch * 5]}))
        rel_seconds = time.perf_counter() - started
        counts = store.counts(ns)
        assert counts["entities"] == args.entities, counts
        assert counts["relationships"] == args.relationships, counts

        rng = random.Random(args.seed + 1)
        queries = []
        for _ in range(args.queries):
            a, b = rng.choice(entities), rng.choice(entities)
            style = rng.random()
            if style < 0.4:  # "how is A connected to B"
                queries.append(f"How is {a['entity_name']} connected to {b['entity_name']}?")
            elif style < 0.7:  # a name and some description words
                words = a["description"].split()
                queries.append(f"{a['entity_name']} {' '.join(rng.sample(words, 3))}")
            else:  # description words only
                queries.append(" ".join(rng.sample(b["description"].split(), 4)))

        # warm both paths (page cache, statement cache) before timing
        for text in queries[:20]:
            query(store, ns, QueryRequest(query=text))
        conn = store._conn()
        baseline_sql = ("SELECT rowid FROM entity_fts WHERE entity_fts MATCH ?"
                        " ORDER BY rank LIMIT 20")

        full: list[float] = []
        bare: list[float] = []
        full_cpu: list[float] = []
        bare_cpu: list[float] = []
        found_paths = 0
        for text in queries:
            match = f"nskey:{ns_token(ns)} AND ({fts_match(text)})"
            t0, c0 = time.perf_counter(), time.thread_time()
            conn.execute(baseline_sql, (match,)).fetchall()
            bare.append((time.perf_counter() - t0) * 1000)
            bare_cpu.append((time.thread_time() - c0) * 1000)
            if args.cold:
                store._adjacency.clear()
            t0, c0 = time.perf_counter(), time.thread_time()
            result = query(store, ns, QueryRequest(query=text, top_k=20, max_tokens=4000))
            full.append((time.perf_counter() - t0) * 1000)
            full_cpu.append((time.thread_time() - c0) * 1000)
            found_paths += bool(result.paths)
        store.close()

    p50, p99 = percentile(full, 0.5), percentile(full, 0.99)
    b50, b99 = percentile(bare, 0.5), percentile(bare, 0.99)
    print(f"graph: {args.entities} entities, {args.relationships} relationships "
          f"(batches of {args.batch} entities / {args.batch * 5} relationships)")
    print(f"insert entities:      {args.entities / entity_seconds:10.0f} entities/s "
          f"({entity_seconds:.2f} s)")
    print(f"insert relationships: {args.relationships / rel_seconds:10.0f} relationships/s "
          f"({rel_seconds:.2f} s)")
    print(f"queries: {len(queries)} (top_k 20, 4000 tokens); {found_paths} returned paths; "
          f"adjacency cache {'dropped before each query' if args.cold else 'kept (warm)'}")
    print(f"kg query (seeds + paths + ranking + context): p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
          f"mean {statistics.fmean(full):6.2f} ms")
    print(f"baseline bare FTS5 lookup:                    p50 {b50:6.2f} ms  p99 {b99:6.2f} ms")
    print(f"ratio full/baseline:                          p50 {p50 / b50:6.1f}x    "
          f"p99 {p99 / b99:6.1f}x")
    c50, c99 = percentile(full_cpu, 0.5), percentile(full_cpu, 0.99)
    d50, d99 = percentile(bare_cpu, 0.5), percentile(bare_cpu, 0.99)
    print("CPU time per query (unaffected by other processes on the machine):")
    print(f"  kg query: p50 {c50:6.2f} ms  p99 {c99:6.2f} ms;  bare FTS5: p50 {d50:6.2f} ms  "
          f"p99 {d99:6.2f} ms;  ratio p50 {c50 / max(d50, 1e-3):.1f}x p99 "
          f"{c99 / max(d99, 1e-3):.1f}x")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"target p99 < 50 ms: wall {'met' if p99 < 50 else 'NOT met'}, "
          f"CPU {'met' if c99 < 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
