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
TYPE_LISTING_SCORE = 0.3
SHARES = {"entities": 0.35, "relationships": 0.25, "paths": 0.10, "sources": 0.30}
#: a query limited to entity types wants mostly those entities
TYPED_SHARES = {"entities": 0.60, "relationships": 0.20, "paths": 0.05, "sources": 0.15}

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


def query_terms(query: str) -> list[str]:
    """The query's distinct words, lower case, without stop words."""
    words = [w.lower() for w in _WORD.findall(query)]
    return [w for w in dict.fromkeys(words) if (len(w) > 1 or w.isdigit()) and w not in STOPWORDS]


def fts_match(query: str) -> str | None:
    """An FTS5 OR-query of the query's words (quoted, so no operator injection)."""
    terms = query_terms(query)
    if not terms:
        return None
    return " OR ".join(f'"{t}"' for t in terms[:MAX_TERMS])


def type_words(query: str, types: list[str] | None) -> list[str]:
    """Words of the query that may name an entity type (singular or plural forms)."""
    words = {w.lower() for w in _WORD.findall(query)}
    named = words | {w[:-1] for w in words if w.endswith("s")}
    named -= STOPWORDS
    return sorted(t for t in named if len(t) > 2 and (not types or t in types))


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
    # a query naming a type ("characters", "scene") lists entities of that type
    listed = {
        t: ids for t in type_words(request.query, types)
        if (ids := store.entities_of_type(conn, ns, t, top_k))
    }
    # a query of type words only is a listing, in writing order
    listing = bool(listed) and all(
        w in listed or w.rstrip("s") in listed for w in query_terms(request.query)
    )
    if match and not listing:
        hits = store.search_entities(conn, ns, match, top_k, types)
        best = max((-rank for _, rank in hits), default=0.0) or 1.0
        for entity_id, rank in hits:
            scores[entity_id] = max(0.05, -rank / best)
    for ids in listed.values():
        for index, entity_id in enumerate(ids):
            listed_score = TYPE_LISTING_SCORE * (1 - index / (2 * len(ids)))
            scores[entity_id] = max(scores.get(entity_id, 0.0), listed_score)
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
    found = find_paths(graph, seeds[:MAX_SEEDS_FOR_PATHS])
    # the most relevant pairs first; within a pair, shortest then strongest
    found.sort(key=lambda item: (-(scores[item[0][0]] + scores[item[0][-1]]), len(item[0]),
                                 -item[1]))
    graph.load(seeds)

    # entities: seeds, then path nodes, then the seeds' strongest neighbours
    edge_scores: dict[int, tuple[float, EdgeRow]] = {}
    for path, score in found:
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
    # direct links are relationships; paths are the chains through others
    path_names = [[label(rows[n].name) for n in path] for path, _ in found if len(path) > 2]
    path_names = path_names[:top_k]
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
    """Keep what fits ``max_tokens``; the structured fields hold exactly what the context shows.

    Each section has a share of the budget; what a section does not need goes to the others in
    order (entities first), so a listing of many entities may use most of the budget.
    """
    total = request.max_tokens * CHARS_PER_TOKEN
    shares = TYPED_SHARES if request.entity_types else SHARES
    sources = [(label(source) if source else "", content) for source, content in chunks]
    sections: dict[str, tuple[str, list[tuple[str, object]]]] = {
        "entities": (section_head("Entities", ENTITY_HEADER), [
            (csv_line([str(i), e.name, e.type, e.description, f"{e.score:g}"]), e)
            for i, e in enumerate(entities)
        ]),
        "relationships": (section_head("Relationships", RELATION_HEADER), [
            (csv_line([str(i), r.src, r.tgt, r.keywords, r.description, f"{r.weight:g}"]), r)
            for i, r in enumerate(relationships)
        ]),
        "paths": (section_head("Paths", PATH_HEADER), [
            (csv_line([str(i), PATH_ARROW.join(p)]), p) for i, p in enumerate(paths)
        ]),
        "sources": (section_head("Sources", SOURCE_HEADER), [
            (csv_line([str(i), source, content]), (source, content))
            for i, (source, content) in enumerate(sources)
        ]),
    }
    demand = {
        name: (len(head) + len(SECTION_TAIL) + sum(len(line) for line, _ in rows)) if rows else 0
        for name, (head, rows) in sections.items()
    }
    allowance = {name: int(total * share) for name, share in shares.items()}
    spare = sum(max(0, allowance[n] - demand[n]) for n in sections)
    for name in sections:
        extra = min(spare, max(0, demand[name] - allowance[name]))
        allowance[name] = min(allowance[name], demand[name]) + extra
        spare -= extra

    out = QueryResult()
    parts: list[str] = []
    carry = used = 0
    for name, (head, rows) in sections.items():
        frame = len(head) + len(SECTION_TAIL)
        room = min(allowance[name] + carry, total - used) - frame
        if name == "entities" and rows and len(rows[0][0]) > room:
            room = total - frame  # the best entity is worth more than any other section
        kept: list[str] = []
        for index, (line, item) in enumerate(rows):
            if len(line) > room and name == "sources" and room >= 200:
                source, content = item  # type: ignore[misc]
                overflow = len(line) - room + len(" ...") + 2
                content = content[: max(0, len(content) - overflow)] + " ..."
                line = csv_line([str(index), source, content])
                item = (source, content)
            if len(line) > room:
                break
            kept.append(line)
            room -= len(line)
            _append(out, name, item)
        if kept:
            parts.append(head + "".join(kept) + SECTION_TAIL)
            used += len(parts[-1])
            carry = max(0, room)
        else:
            carry = allowance[name] + carry
    out.context = "".join(parts)
    return out


def _append(out: QueryResult, section: str, item: object) -> None:
    if section == "entities":
        out.entities.append(item)  # type: ignore[arg-type]
    elif section == "relationships":
        out.relationships.append(item)  # type: ignore[arg-type]
    elif section == "paths":
        out.paths.append(item)  # type: ignore[arg-type]
    else:
        source, content = item  # type: ignore[misc]
        out.chunks.append(ChunkHit(content=content, source_id=source))
