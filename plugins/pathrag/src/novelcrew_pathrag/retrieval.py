"""Query a namespace: seed entities by text, relational paths between them, a budgeted context.

The algorithm follows PathRAG (Chen et al., 2025) without embeddings (docs/knowledge-graph.md):
1. Seeds: FTS5 bm25 over names (weighted 10x) and descriptions, plus exact name hits (every
   1-6 word span of the query looked up by name), optionally limited to ``entity_types``. A
   query of type words only ("Scene", "characters") is a listing of those entities.
2. Paths: for each pair of the strongest seeds, every path of at most 3 hops. Each path carries
   resource flow from its source: the source holds 1, every hop passes on
   ``ALPHA * weight / weighted degree``; nodes and paths whose flow falls under ``THETA`` are
   neither expanded nor kept, and reliability is the mean flow over the hops (the better of
   both directions). Per pair the shortest, then strongest, paths are kept.
3. Ranking: seeds first, then path nodes and the seeds' strongest neighbours; relationships on
   paths and around seeds; source chunks of the ranked items plus chunk text hits.
4. Budget: sections share ``max_tokens`` (about 4 characters per token): entities,
   relationships, paths, sources; what one section does not need goes to the others.
"""
from __future__ import annotations

import heapq
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations, pairwise
from typing import cast

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
from novelcrew_pathrag.store import EntityRow, GraphStore, source_list

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


Link = tuple[int, float]  # (edge id, weight)


@dataclass
class _Graph:
    """Adjacency (edge ids and weights only) read on demand, shared through the store's cache."""

    store: GraphStore
    conn: sqlite3.Connection
    ns: str

    def __post_init__(self) -> None:
        self.cache = self.store.adjacency_cache(self.conn, self.ns)
        self.adj = self.cache.adj
        self._wdeg = self.cache.wdeg

    def load(self, nodes: Iterable[int]) -> None:
        adj = self.adj
        missing = [n for n in dict.fromkeys(nodes) if n not in adj]
        if not missing:
            return
        fresh: dict[int, dict[int, Link]] = {node: {} for node in missing}
        for edge_id, src, tgt, weight in self.store.links(self.conn, missing):
            for a, b in ((src, tgt), (tgt, src)):
                nbrs = fresh.get(a)
                if nbrs is not None and (b not in nbrs or weight > nbrs[b][1]):
                    nbrs[b] = (edge_id, weight)
        for node, nbrs in fresh.items():
            total = sum(max(w, 1e-6) for _, w in nbrs.values()) or 1.0
            self._wdeg[node] = total
            self.cache.best_share[node] = ALPHA * max(
                (max(w, 1e-6) for _, w in nbrs.values()), default=0.0) / total
        adj.update(fresh)

    def nbrs(self, node: int) -> dict[int, Link]:
        return self.adj.get(node, _EMPTY)

    def wdeg(self, node: int) -> float:
        return self._wdeg.get(node, 1.0)

    def flow(self, a: int, b: int) -> float:
        """The share of ``a``'s resource that reaches its neighbour ``b``."""
        return ALPHA * max(self.adj[a][b][1], 1e-6) / self._wdeg[a]


_EMPTY: dict[int, Link] = {}


def _reliability(graph: _Graph, path: tuple[int, ...]) -> float | None:
    """Mean resource flow over the hops of ``path`` from its first node; None when pruned."""
    flow, total = 1.0, 0.0
    for a, b in pairwise(path):
        flow *= graph.flow(a, b)
        if flow < THETA:
            return None
        total += flow
    return total / (len(path) - 1)


def _common(first: Mapping[int, object], second: Mapping[int, object]) -> list[int]:
    """Keys in both, walking the smaller mapping."""
    small, large = (first, second) if len(first) <= len(second) else (second, first)
    return [key for key in small if key in large]


def find_paths(graph: _Graph, seeds: list[int]) -> list[tuple[tuple[int, ...], float]]:
    """Paths of <= 3 hops between pairs of seeds, shortest then strongest first per pair.

    Only neighbours that receive at least ``THETA`` of a seed's resource are expanded (a hub's
    thousand neighbours each get too little), which bounds the work on large graphs.
    """
    graph.load(seeds)
    expand = {s: [x for x in graph.nbrs(s) if graph.flow(s, x) >= THETA] for s in seeds}
    graph.load(x for xs in expand.values() for x in xs)
    # reach[s][y]: the expanded neighbours x of s that touch y (so s - x - y)
    # (pruned like the paths: y must still receive THETA from s through x)
    reach: dict[int, dict[int, list[int]]] = {}
    best_share = graph.cache.best_share
    for s in seeds:
        table: dict[int, list[int]] = {}
        for x in expand[s]:
            to_x = graph.flow(s, x)
            if to_x * best_share[x] < THETA:
                continue  # x passes too little to any neighbour (a hub): not expanded
            for y in graph.nbrs(x):
                if y != s and to_x * graph.flow(x, y) >= THETA:
                    table.setdefault(y, []).append(x)
        reach[s] = table
    found: list[tuple[tuple[int, ...], float]] = []
    for a, b in combinations(seeds, 2):
        na, nb = graph.nbrs(a), graph.nbrs(b)
        candidates: set[tuple[int, ...]] = set()
        if b in na:
            candidates.add((a, b))
        small, large = (na, nb) if len(na) <= len(nb) else (nb, na)
        candidates.update((a, x, b) for x in small if x in large and x not in (a, b))
        reach_a, reach_b = reach[a], reach[b]
        # a - x - y - b with x expanded from a, then with y expanded from b
        for y in _common(nb, reach_a):
            if y != a:
                candidates.update((a, x, y, b) for x in reach_a[y] if x != b)
        for x in _common(na, reach_b):
            if x != b:
                candidates.update((a, x, y, b) for y in reach_b[x] if y != a)
        if not candidates:
            continue
        graph.load(n for path in candidates for n in path[1:-1])
        scored = []
        for path in candidates:
            forward = _reliability(graph, path)
            backward = _reliability(graph, path[::-1])
            score = max(s for s in (forward, backward, -1.0) if s is not None)
            if score >= 0:
                scored.append((path, score))
        scored.sort(key=lambda item: (len(item[0]), -item[1], item[0]))
        found += scored[:PATHS_PER_PAIR]
    return found


def query(
    store: GraphStore, ns: str, request: QueryRequest, label: Label = _identity
) -> QueryResult:
    """Retrieve from namespace ``ns``; ``label`` maps stored names to the names returned."""
    with store.reader() as conn:
        return _query(store, conn, ns, request, label)


def _seeds(
    store: GraphStore, conn: sqlite3.Connection, ns: str, request: QueryRequest, match: str | None
) -> tuple[dict[int, float], dict[int, EntityRow], bool]:
    """Seed scores (text match, type listing, exact names +1), their rows, and whether the
    query is a listing."""
    top_k, types = request.top_k, request.entity_types
    scores: dict[int, float] = {}
    # a query of type words only ("characters", "Scene") lists them, in writing order
    terms = query_terms(request.query)
    candidates = type_words(request.query, types)
    listed: dict[str, list[int]] = {}
    if terms and all(w in candidates or w.rstrip("s") in candidates for w in terms):
        listed = {
            t: ids for t in candidates if (ids := store.entities_of_type(conn, ns, t, top_k))
        }
    listing = bool(listed) and all(w in listed or w.rstrip("s") in listed for w in terms)
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
    return scores, rows, listing


def _query(
    store: GraphStore, conn: sqlite3.Connection, ns: str, request: QueryRequest, label: Label
) -> QueryResult:
    top_k, types = request.top_k, request.entity_types
    match = fts_match(request.query)
    scores, rows, listing = _seeds(store, conn, ns, request, match)
    seeds = sorted(scores, key=lambda i: -scores[i])[:top_k]
    if listing:  # a listing is the entities only, so the whole budget goes to them
        listed = [
            EntityHit(name=label(rows[i].name), type=rows[i].type,
                      description=rows[i].description, score=round(scores[i], 4))
            for i in seeds if i in rows and (not types or rows[i].type in types)
        ]
        return fit_budget(request, listed, [], [], [], label)
    if not seeds:
        chunks = _chunk_hits(store, conn, ns, match, {}, top_k)
        return fit_budget(request, [], [], [], chunks, label)

    graph = _Graph(store, conn, ns)
    found = find_paths(graph, seeds[:MAX_SEEDS_FOR_PATHS])
    # the most relevant pairs first; within a pair, shortest then strongest
    found.sort(key=lambda item: (-(scores[item[0][0]] + scores[item[0][-1]]), len(item[0]),
                                 -item[1]))
    graph.load(seeds)

    # entities: seeds, then path nodes, then the seeds' strongest neighbours
    edge_scores: dict[int, tuple[float, int, int]] = {}

    def score_edge(a: int, b: int, value: float) -> None:
        edge_id = graph.nbrs(a)[b][0]
        if edge_id not in edge_scores or edge_scores[edge_id][0] < value:
            edge_scores[edge_id] = (value, a, b)

    for path, score in found:
        end_score = min(scores[path[0]], scores[path[-1]])
        for a, b in pairwise(path):
            score_edge(a, b, end_score * (0.5 + score))
        for node in path[1:-1]:
            scores[node] = max(scores.get(node, 0.0), 0.5 * end_score / (len(path) - 1))
    for seed in seeds:
        nbrs = graph.nbrs(seed)
        top_weight = max((w for _, w in nbrs.values()), default=1.0) or 1.0
        strongest = heapq.nlargest(top_k, nbrs.items(), key=lambda item: item[1][1])
        for other, (_, weight) in strongest:
            value = 0.4 * scores[seed] * max(weight, 1e-6) / top_weight
            score_edge(seed, other, value)
            scores[other] = max(scores.get(other, 0.0), 0.5 * value)

    ranked_entities: list[int] = []
    order = sorted(scores, key=lambda i: -scores[i])
    for start in range(0, len(order), top_k * 2):  # rows only for what can still rank
        window = order[start : start + top_k * 2]
        rows.update(store.entities(conn, [i for i in window if i not in rows]))
        ranked_entities += [i for i in window if i in rows and (not types or rows[i].type in types)]
        if len(ranked_entities) >= top_k:
            break
    ranked_entities = ranked_entities[:top_k]
    kept = set(ranked_entities)
    ranked_ids = [
        edge_id for edge_id, (_, a, b) in sorted(edge_scores.items(), key=lambda kv: -kv[1][0])
        if a in kept or b in kept
    ][: top_k * 2]
    edges = store.edges(conn, ranked_ids)
    ranked_edges = [edges[i] for i in ranked_ids if i in edges]
    path_nodes = {n for path, _ in found if len(path) > 2 for n in path}
    rows.update(store.entities(conn, [
        n for n in {*path_nodes, *(x for e in ranked_edges for x in (e.src, e.tgt))}
        if n not in rows
    ]))

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
    return fit_budget(request, entity_hits, relation_hits, path_names[:top_k], chunks, label)


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


#: the section heads never change: written once, not per query
_HEADS = {
    "entities": section_head("Entities", ENTITY_HEADER),
    "relationships": section_head("Relationships", RELATION_HEADER),
    "paths": section_head("Paths", PATH_HEADER),
    "sources": section_head("Sources", SOURCE_HEADER),
}


def _entity_line(index: int, e: EntityHit) -> str:
    return csv_line([str(index), e.name, e.type, e.description, f"{e.score:g}"])


def _relation_line(index: int, r: RelationshipHit) -> str:
    return csv_line([str(index), r.src, r.tgt, r.keywords, r.description, f"{r.weight:g}"])


def _path_line(index: int, path: list[str]) -> str:
    return csv_line([str(index), PATH_ARROW.join(path)])


def _source_line(index: int, source: tuple[str, str]) -> str:
    return csv_line([str(index), *source])


def _lines(
    items: list[object], line: Callable[[int, object], str], cap: int
) -> tuple[list[str], int]:
    """The items' CSV lines in order, each formatted once, stopping after the line that takes
    the total over ``cap``; and that total (capped): nothing past it can fit."""
    lines: list[str] = []
    size = 0
    for index, item in enumerate(items):
        text = line(index, item)
        lines.append(text)
        size += len(text)
        if size > cap:
            break
    return lines, size


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

    Rows are formatted lazily, each once: a section's lines stop after their sum passes the
    whole budget. The demand it then reports (capped) splits the budget exactly as the full sum
    would: a section's share plus all the others' spare is at most the budget, so past it the
    split gives the section share + spare either way; and no row after that line can fit.
    """
    total = request.max_tokens * CHARS_PER_TOKEN
    shares = TYPED_SHARES if request.entity_types else SHARES
    sources = [(label(source) if source else "", content) for source, content in chunks]
    cap = total
    items: dict[str, list[object]] = {
        "entities": cast(list[object], entities),
        "relationships": cast(list[object], relationships),
        "paths": cast(list[object], paths),
        "sources": cast(list[object], sources),
    }
    formats = cast(dict[str, Callable[[int, object], str]], {
        "entities": _entity_line, "relationships": _relation_line, "paths": _path_line,
        "sources": _source_line,
    })
    sections: dict[str, tuple[str, list[str]]] = {}
    demand: dict[str, int] = {}
    for name, head in _HEADS.items():
        lines, size = _lines(items[name], formats[name], cap)
        sections[name] = (head, lines)
        demand[name] = (len(head) + len(SECTION_TAIL) + size) if lines else 0
    allowance = {name: int(total * share) for name, share in shares.items()}
    spare = sum(max(0, allowance[n] - demand[n]) for n in sections)
    for name in sections:
        extra = min(spare, max(0, demand[name] - allowance[name]))
        allowance[name] = min(allowance[name], demand[name]) + extra
        spare -= extra

    out = QueryResult()
    parts: list[str] = []
    carry = used = 0
    for name, (head, lines) in sections.items():
        frame = len(head) + len(SECTION_TAIL)
        room = min(allowance[name] + carry, total - used) - frame
        if name == "entities" and lines and len(lines[0]) > room:
            room = total - frame  # the best entity is worth more than any other section
        kept: list[str] = []
        for index, line in enumerate(lines):
            item = items[name][index]
            if len(line) > room and name == "sources" and room >= 200:
                source_id, text = cast(tuple[str, str], item)
                overflow = len(line) - room + len(" ...") + 2
                text = text[: max(0, len(text) - overflow)] + " ..."
                item = (source_id, text)
                line = _source_line(index, item)
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
        out.entities.append(cast(EntityHit, item))
    elif section == "relationships":
        out.relationships.append(cast(RelationshipHit, item))
    elif section == "paths":
        out.paths.append(cast(list[str], item))
    else:
        source_id, text = cast(tuple[str, str], item)
        out.chunks.append(ChunkHit(content=text, source_id=source_id))
