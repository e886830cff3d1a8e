"""Query a namespace: seed entities by text, relational paths between them, a budgeted context.

The algorithm follows PathRAG (Chen et al., 2025) without embeddings:
1. Seeds: FTS5 bm25 over names (weighted 10x) and descriptions, plus exact name hits (every
   1-6 word span of the query looked up by name), optionally limited to ``entity_types``.
2. Paths: for each pair of the strongest seeds, every path of at most 3 hops, found by a
   bounded search around both ends. Each path carries resource flow from its source: the source
   holds 1, every hop passes on ``ALPHA * weight / weighted degree``; a path whose flow falls
   under ``THETA`` is pruned, and reliability is the mean flow over its hops (the better of
   both directions). Per pair the shortest, then strongest, paths are kept.
3. Ranking: seeds first, then path nodes and the seeds' strongest neighbours; relationships on
   paths and around seeds; source chunks of the ranked items plus chunk text hits.
4. Budget: sections fill ``max_tokens`` (about 4 characters per token) in order, entities,
   relationships, paths, then sources, each with a share and the unused rest carried on.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations, pairwise

from novelcrew_pathrag.contextfmt import (
    ENTITY_HEADER,
    PATH_ARROW,
    PATH_HEADER,
    RELATION_HEADER,
    SECTION_TAIL,
    SOURCE_HEADER,
    csv_line,
    section_head,
)
from novelcrew_pathrag.merge import name_key
from novelcrew_pathrag.models import (
    CHARS_PER_TOKEN,
    ChunkHit,
    EntityHit,
    QueryRequest,
    QueryResult,
    RelationshipHit,
)
from novelcrew_pathrag.store import EdgeRow, GraphStore, source_list

ALPHA = 0.8
THETA = 0.002
MAX_SEEDS_FOR_PATHS = 10
PATHS_PER_PAIR = 2
MAX_NGRAM = 6
MAX_TERMS = 32
SHARES = (("entities", 0.35), ("relationships", 0.25), ("paths", 0.10), ("sources", 0.30))

_WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "he",
    "her", "his", "how", "i", "in", "is", "it", "its", "of", "on", "or", "she", "that", "the",
    "their", "them", "they", "this", "to", "was", "were", "what", "when", "where", "which",
    "who", "whom", "why", "will", "with", "you", "your", "about", "into", "than", "then",
    "there", "these", "those", "do", "does", "did", "not", "no", "so", "if", "all", "any",
    "tell", "me", "show", "find", "give",
})

Label = Callable[[str], str]


def _identity(value: str) -> str:
    return value


def fts_match(query: str) -> str | None:
    """An FTS5 OR-query of the query's words (quoted, so no operator injection)."""
    words = [w.lower() for w in _WORD.findall(query)]
    terms = [w for w in dict.fromkeys(words) if (len(w) > 1 or w.isdigit()) and w not in STOPWORDS]
    if not terms:
        return None
    return " OR ".join(f'"{t}"' for t in terms[:MAX_TERMS])


def name_spans(query: str) -> list[str]:
    """Every span of 1..MAX_NGRAM words of the query, as name keys."""
    words = _WORD.findall(query)
    spans = []
    for size in range(1, MAX_NGRAM + 1):
        for start in range(len(words) - size + 1):
            spans.append(name_key(" ".join(words[start : start + size])))
    return spans


@dataclass
class _Graph:
    """Adjacency loaded on demand for one query."""

    store: GraphStore
    conn: sqlite3.Connection
    adj: dict[int, dict[int, EdgeRow]] = field(default_factory=dict)

    def load(self, nodes: list[int]) -> None:
        missing = [n for n in dict.fromkeys(nodes) if n not in self.adj]
        if not missing:
            return
        for node in missing:
            self.adj[node] = {}
        for edge in self.store.edges(self.conn, missing):
            for a, b in ((edge.src, edge.tgt), (edge.tgt, edge.src)):
                if a in self.adj:
                    best = self.adj[a].get(b)
                    if best is None or edge.weight > best.weight:
                        self.adj[a][b] = edge

    def nbrs(self, node: int) -> dict[int, EdgeRow]:
        return self.adj.get(node, {})

    def wdeg(self, node: int) -> float:
        return sum(max(e.weight, 1e-6) for e in self.nbrs(node).values()) or 1.0


def _reliability(graph: _Graph, path: tuple[int, ...]) -> float | None:
    """Mean resource flow over the hops of ``path`` from its first node; None when pruned."""
    flow, total = 1.0, 0.0
    for a, b in pairwise(path):
        edge = graph.nbrs(a)[b]
        flow = ALPHA * flow * max(edge.weight, 1e-6) / graph.wdeg(a)
        if flow < THETA:
            return None
        total += flow
    return total / (len(path) - 1)


def find_paths(graph: _Graph, seeds: list[int]) -> list[tuple[tuple[int, ...], float]]:
    """Paths of <= 3 hops between pairs of seeds, shortest then strongest first."""
    graph.load(seeds)
    graph.load([n for s in seeds for n in graph.nbrs(s)])
    found: list[tuple[tuple[int, ...], float]] = []
    for a, b in combinations(seeds, 2):
        candidates: list[tuple[int, ...]] = []
        na, nb = graph.nbrs(a), graph.nbrs(b)
        if b in na:
            candidates.append((a, b))
        candidates += [(a, x, b) for x in na if x in nb and x not in (a, b)]
        for x in na:
            if x == b:
                continue
            for y in graph.nbrs(x):
                if y in nb and y not in (a, b, x):
                    candidates.append((a, x, y, b))
        if not candidates:
            continue
        graph.load([n for path in candidates for n in path[1:-1]])
        scored = []
        for path in candidates:
            forward = _reliability(graph, path)
            backward = _reliability(graph, path[::-1])
            score = max(s for s in (forward, backward, -1.0) if s is not None)
            if score >= 0:
                scored.append((path, score))
        scored.sort(key=lambda item: (len(item[0]), -item[1]))
        found += scored[:PATHS_PER_PAIR]
    found.sort(key=lambda item: (len(item[0]), -item[1]))
    return found


def query(
    store: GraphStore, ns: str, request: QueryRequest, label: Label = _identity
) -> QueryResult:
    """Retrieve from namespace ``ns``; ``label`` maps stored names to the names returned."""
    with store.reader() as conn:
        return _query(store, conn, ns, request, label)


def _query(
    store: GraphStore, conn: sqlite3.Connection, ns: str, request: QueryRequest, label: Label
) -> QueryResult:
    top_k, types = request.top_k, request.entity_types
    match = fts_match(request.query)
    scores: dict[int, float] = {}
    if match:
        hits = store.search_entities(conn, ns, match, top_k, types)
        best = max((-rank for _, rank in hits), default=0.0) or 1.0
        for entity_id, rank in hits:
            scores[entity_id] = max(0.05, -rank / best)
    exact = store.entities_by_keys(conn, ns, name_spans(request.query))
    rows = store.entities(conn, [*scores, *exact])
    for entity_id in exact:
        if entity_id in rows and (not types or rows[entity_id].type in types):
            scores[entity_id] = scores.get(entity_id, 0.0) + 1.0
    seeds = sorted(scores, key=lambda i: -scores[i])[:top_k]
    if not seeds:
        chunks = _chunk_hits(store, conn, ns, match, {}, top_k)
        return fit_budget(request, [], [], [], chunks, label)

    graph = _Graph(store, conn)
    paths = find_paths(graph, seeds[:MAX_SEEDS_FOR_PATHS])[:top_k]
    graph.load(seeds)

    # entities: seeds, then path nodes, then the seeds' strongest neighbours
    edge_scores: dict[int, tuple[float, EdgeRow]] = {}
    for path, score in paths:
        end_score = min(scores[path[0]], scores[path[-1]])
        for a, b in pairwise(path):
            edge = graph.nbrs(a)[b]
            value = end_score * (0.5 + score)
            if edge.id not in edge_scores or edge_scores[edge.id][0] < value:
                edge_scores[edge.id] = (value, edge)
        for node in path[1:-1]:
            scores[node] = max(scores.get(node, 0.0), 0.5 * end_score / (len(path) - 1))
    for seed in seeds:
        nbrs = graph.nbrs(seed)
        top_weight = max((e.weight for e in nbrs.values()), default=1.0) or 1.0
        ranked = sorted(nbrs.items(), key=lambda item: -item[1].weight)[:top_k]
        for other, edge in ranked:
            value = 0.4 * scores[seed] * max(edge.weight, 1e-6) / top_weight
            if edge.id not in edge_scores or edge_scores[edge.id][0] < value:
                edge_scores[edge.id] = (value, edge)
            scores[other] = max(scores.get(other, 0.0), 0.5 * value)
    rows.update(store.entities(conn, [i for i in scores if i not in rows]))
    ranked_entities = [
        i for i in sorted(scores, key=lambda i: -scores[i])
        if i in rows and (not types or rows[i].type in types)
    ][:top_k]
    kept = set(ranked_entities)
    ranked_edges = [
        edge for _, edge in sorted(edge_scores.values(), key=lambda item: -item[0])
        if edge.src in kept or edge.tgt in kept
    ][: top_k * 2]
    rows.update(store.entities(conn, [n for e in ranked_edges for n in (e.src, e.tgt)]))

    # chunks: cited by ranked entities and edges, plus chunk text hits
    cite: dict[str, float] = {}
    for entity_id in ranked_entities:
        for source in source_list(rows[entity_id].source_ids):
            cite[source] = cite.get(source, 0.0) + scores[entity_id]
    for edge in ranked_edges:
        for source in source_list(edge.source_ids):
            cite[source] = cite.get(source, 0.0) + 0.5 * edge_scores[edge.id][0]
    chunks = _chunk_hits(store, conn, ns, match, cite, top_k)

    entity_hits = [
        EntityHit(name=label(rows[i].name), type=rows[i].type, description=rows[i].description,
                  score=round(scores[i], 4))
        for i in ranked_entities
    ]
    relation_hits = [
        RelationshipHit(src=label(rows[e.src].name), tgt=label(rows[e.tgt].name),
                        description=e.description, keywords=e.keywords, weight=e.weight)
        for e in ranked_edges
    ]
    path_names = [[label(rows[n].name) for n in path] for path, _ in paths if len(path) > 1]
    return fit_budget(request, entity_hits, relation_hits, path_names, chunks, label)


def _chunk_hits(
    store: GraphStore, conn: sqlite3.Connection, ns: str, match: str | None,
    cite: dict[str, float], top_k: int,
) -> list[tuple[str, str]]:
    scores: dict[int, float] = {}
    by_source = store.chunks_by_sources(conn, ns, cite)
    for source, items in by_source.items():
        for chunk_id, _ in items:
            scores[chunk_id] = scores.get(chunk_id, 0.0) + cite[source]
    if match:
        hits = store.search_chunks(conn, ns, match, top_k)
        best = max((-rank for _, rank in hits), default=0.0) or 1.0
        for chunk_id, rank in hits:
            scores[chunk_id] = scores.get(chunk_id, 0.0) + max(0.05, -rank / best)
    order = sorted(scores, key=lambda i: -scores[i])[:top_k]
    found = store.chunks(conn, order)
    return [found[i] for i in order if i in found]


def fit_budget(
    request: QueryRequest,
    entities: list[EntityHit],
    relationships: list[RelationshipHit],
    paths: list[list[str]],
    chunks: list[tuple[str, str]],
    label: Label,
) -> QueryResult:
    """Keep what fits ``max_tokens``; the structured fields hold exactly what the context shows."""
    total = request.max_tokens * CHARS_PER_TOKEN
    out = QueryResult()
    parts: list[str] = []
    carry = 0
    used_total = 0
    for section, share in SHARES:
        allowance = int(total * share) + carry
        allowance = min(allowance, total - used_total)
        used = 0
        rows: list[str] = []
        if section == "entities":
            head = section_head("Entities", ENTITY_HEADER)
            for index, hit in enumerate(entities):
                line = csv_line([str(index), hit.name, hit.type, hit.description, f"{hit.score:g}"])
                if len(head) + len(SECTION_TAIL) + used + len(line) > allowance:
                    break
                rows.append(line)
                used += len(line)
                out.entities.append(hit)
        elif section == "relationships":
            head = section_head("Relationships", RELATION_HEADER)
            for index, rel in enumerate(relationships):
                line = csv_line([str(index), rel.src, rel.tgt, rel.keywords, rel.description,
                                 f"{rel.weight:g}"])
                if len(head) + len(SECTION_TAIL) + used + len(line) > allowance:
                    break
                rows.append(line)
                used += len(line)
                out.relationships.append(rel)
        elif section == "paths":
            head = section_head("Paths", PATH_HEADER)
            for index, path in enumerate(paths):
                line = csv_line([str(index), PATH_ARROW.join(path)])
                if len(head) + len(SECTION_TAIL) + used + len(line) > allowance:
                    break
                rows.append(line)
                used += len(line)
                out.paths.append(path)
        else:
            head = section_head("Sources", SOURCE_HEADER)
            for index, (source_id, content) in enumerate(chunks):
                room = allowance - len(head) - len(SECTION_TAIL) - used
                line = csv_line([str(index), label(source_id) if source_id else "", content])
                if len(line) > room:
                    if room < 200:
                        break
                    content = content[: max(0, room - (len(line) - len(content)) - 8)] + " ..."
                    line = csv_line([str(index), label(source_id) if source_id else "", content])
                    if len(line) > room:
                        break
                rows.append(line)
                used += len(line)
                out.chunks.append(ChunkHit(content=content,
                                           source_id=label(source_id) if source_id else ""))
        if rows:
            block = head + "".join(rows) + SECTION_TAIL
            parts.append(block)
            used_total += len(block)
            carry = allowance - len(block)
        else:
            carry = allowance
    out.context = "".join(parts)
    return out
