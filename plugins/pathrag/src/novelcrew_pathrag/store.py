"""The embedded graph store: SQLite (WAL, FTS5), one namespace per project scope.

Many jobs write at once, in threads of one process and in several worker processes, so every
write is one ``BEGIN IMMEDIATE`` transaction (read-merge-write cannot interleave), the
database runs in WAL mode (readers never block the writer) with a long busy timeout, and each
thread has its own connection. FTS5 rows carry a namespace token in an indexed column so a text
match never scans other projects.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from novelcrew_pathrag.merge import (
    SOURCE_SEP,
    merge_description,
    merge_keywords,
    merge_sources,
    name_key,
    stronger_type,
)
from novelcrew_pathrag.models import Chunk, CustomKG, Entity, InsertCounts, Relationship

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 60_000
ADJACENCY_CACHE_NODES = 200_000
ADJACENCY_CACHE_NAMESPACES = 32
TOKENIZER = "porter unicode61 remove_diacritics 2"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS graph_versions (ns TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS analysis_versions (
    ns TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at REAL NOT NULL,
    archive TEXT,
    PRIMARY KEY (ns, version)
);
CREATE TABLE IF NOT EXISTS entities (
    id INTEGER PRIMARY KEY,
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    source_ids TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    UNIQUE (ns, key)
);
CREATE TABLE IF NOT EXISTS relationships (
    id INTEGER PRIMARY KEY,
    ns TEXT NOT NULL,
    src INTEGER NOT NULL,
    tgt INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    keywords TEXT NOT NULL DEFAULT '',
    weight REAL NOT NULL DEFAULT 1.0,
    source_ids TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    UNIQUE (ns, src, tgt)
);
CREATE INDEX IF NOT EXISTS entities_type ON entities (ns, type, id);
CREATE INDEX IF NOT EXISTS relationships_src ON relationships (src, tgt, weight);
CREATE INDEX IF NOT EXISTS relationships_tgt ON relationships (tgt, src, weight);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    ns TEXT NOT NULL,
    hash TEXT NOT NULL,
    source_id TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL,
    UNIQUE (ns, hash)
);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks (ns, source_id);
CREATE VIRTUAL TABLE IF NOT EXISTS entity_fts USING fts5(
    nskey, name, description, tokenize = '{TOKENIZER}'
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5(
    nskey, content, tokenize = '{TOKENIZER}'
);
"""


def archive_ns(ns: str, version: int) -> str:
    """Where version ``version`` of ``ns`` is kept once a newer one replaced it."""
    return f"{ns}@v{version}"


def ns_token(ns: str) -> str:
    """A single FTS token naming a namespace (hex keeps it one alphanumeric word)."""
    return "ns" + ns.encode().hex()


@dataclass(frozen=True)
class EntityRow:
    id: int
    name: str
    type: str
    description: str
    source_ids: str


@dataclass(frozen=True)
class EdgeRow:
    id: int
    src: int
    tgt: int
    description: str
    keywords: str
    weight: float
    source_ids: str


@dataclass
class AdjacencyCache:
    """Neighbours ``{node: {other: (edge id, weight)}}`` and weighted degrees of read nodes."""

    adj: dict[int, dict[int, tuple[int, float]]] = field(default_factory=dict)
    wdeg: dict[int, float] = field(default_factory=dict)
    #: the largest share of its resource a node passes to one neighbour
    best_share: dict[int, float] = field(default_factory=dict)


class GraphStore:
    """Thread-safe access to ``pathrag.sqlite3``; every method takes the namespace."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._adjacency: dict[str, tuple[int, AdjacencyCache]] = {}
        self._pid = os.getpid()
        with self._write() as conn:
            for statement in _SCHEMA.split(";\n"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    # connections ---------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        if self._pid != os.getpid():  # forked: never use the parent's connections
            self._pid = os.getpid()
            self._local = threading.local()
            self._all = []
            self._adjacency = {}
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA cache_size = -16000")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taking the write lock up front (no upgrade deadlocks)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for a multi-statement read."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with suppress(sqlite3.ProgrammingError):  # closed from its thread already
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    # writes --------------------------------------------------------------------------------
    def _bump(self, conn: sqlite3.Connection, ns: str) -> None:
        """Mark the namespace's graph changed (adjacency caches of every process drop it)."""
        conn.execute(
            "INSERT INTO graph_versions (ns, version) VALUES (?, 1)"
            " ON CONFLICT (ns) DO UPDATE SET version = version + 1",
            (ns,),
        )

    def insert_custom_kg(self, ns: str, kg: CustomKG) -> InsertCounts:
        now = time.time()
        with self._write() as conn:
            if kg.entities or kg.relationships:
                self._bump(conn, ns)
            for chunk in kg.chunks:
                self._put_chunk(conn, ns, chunk)
            ids: dict[str, int] = {}
            for entity in kg.entities:
                ids[name_key(entity.entity_name)] = self._put_entity(conn, ns, entity, now)
            # resolve every endpoint not written above in a few reads, not one per edge
            ends = {name_key(n) for r in kg.relationships for n in (r.src_id, r.tgt_id)}
            ids.update(self._ids_by_keys(conn, ns, [k for k in ends if k not in ids]))
            for rel in kg.relationships:
                self._put_relationship(conn, ns, rel, ids, now)
        return InsertCounts(
            chunks=len(kg.chunks), entities=len(kg.entities), relationships=len(kg.relationships)
        )

    def insert_chunks(self, ns: str, chunks: Sequence[Chunk]) -> int:
        with self._write() as conn:
            for chunk in chunks:
                self._put_chunk(conn, ns, chunk)
        return len(chunks)

    def _put_chunk(self, conn: sqlite3.Connection, ns: str, chunk: Chunk) -> None:
        content = chunk.content.strip()
        if not content:
            return
        digest = hashlib.sha1(content.encode()).hexdigest()
        cur = conn.execute(
            "INSERT OR IGNORE INTO chunks (ns, hash, source_id, content) VALUES (?, ?, ?, ?)",
            (ns, digest, chunk.source_id, content),
        )
        if cur.rowcount:
            conn.execute(
                "INSERT INTO chunk_fts (rowid, nskey, content) VALUES (?, ?, ?)",
                (cur.lastrowid, ns_token(ns), content),
            )

    def _put_entity(self, conn: sqlite3.Connection, ns: str, entity: Entity, now: float) -> int:
        key = name_key(entity.entity_name)
        row = conn.execute(
            "SELECT id, name, type, description, source_ids FROM entities WHERE ns = ? AND key = ?",
            (ns, key),
        ).fetchone()
        name = entity.entity_name
        if row is None:
            cur = conn.execute(
                "INSERT INTO entities (ns, key, name, type, description, source_ids, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (ns, key, entity.entity_name, entity.entity_type, entity.description.strip(),
                 entity.source_id, now),
            )
            entity_id = int(cur.lastrowid or 0)
            description = entity.description.strip()
        else:
            entity_id, name, old_type, old_description, old_sources = row
            description = merge_description(old_description, entity.description)
            new_type = stronger_type(old_type, entity.entity_type)
            sources = merge_sources(old_sources, entity.source_id)
            if (description, new_type, sources) == (old_description, old_type, old_sources):
                return int(entity_id)
            conn.execute(
                "UPDATE entities SET type = ?, description = ?, source_ids = ?, updated_at = ?"
                " WHERE id = ?",
                (new_type, description, sources, now, entity_id),
            )
            conn.execute("DELETE FROM entity_fts WHERE rowid = ?", (entity_id,))
        conn.execute(
            "INSERT INTO entity_fts (rowid, nskey, name, description) VALUES (?, ?, ?, ?)",
            (entity_id, ns_token(ns), name, description),
        )
        return int(entity_id)

    def _ids_by_keys(
        self, conn: sqlite3.Connection, ns: str, keys: list[str]
    ) -> dict[str, int]:
        out: dict[str, int] = {}
        for batch in _batches(keys):
            rows = conn.execute(
                "SELECT key, id FROM entities WHERE ns = ?"
                f" AND key IN ({','.join('?' * len(batch))})",
                [ns, *batch],
            )
            out.update((row[0], int(row[1])) for row in rows)
        return out

    def _entity_id(
        self, conn: sqlite3.Connection, ns: str, name: str, ids: dict[str, int], now: float
    ) -> int:
        key = name_key(name)
        if key in ids:
            return ids[key]
        row = conn.execute(
            "SELECT id FROM entities WHERE ns = ? AND key = ?", (ns, key)
        ).fetchone()
        if row is not None:
            ids[key] = int(row[0])
        else:  # like upstream PathRAG: an edge to an unknown node creates it, typed unknown
            ids[key] = self._put_entity(conn, ns, Entity(entity_name=name), now)
        return ids[key]

    def _put_relationship(
        self, conn: sqlite3.Connection, ns: str, rel: Relationship, ids: dict[str, int],
        now: float,
    ) -> None:
        src = self._entity_id(conn, ns, rel.src_id, ids, now)
        tgt = self._entity_id(conn, ns, rel.tgt_id, ids, now)
        if src == tgt:
            return
        cur = conn.execute(  # a new edge costs one statement; an existing one is merged
            "INSERT OR IGNORE INTO relationships (ns, src, tgt, description, keywords, weight,"
            " source_ids, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (ns, src, tgt, rel.description.strip(), merge_keywords("", rel.keywords),
             rel.weight, rel.source_id, now),
        )
        if cur.rowcount:
            return
        rel_id, description, keywords, weight, sources = conn.execute(
            "SELECT id, description, keywords, weight, source_ids FROM relationships"
            " WHERE ns = ? AND src = ? AND tgt = ?",
            (ns, src, tgt),
        ).fetchone()
        conn.execute(
            "UPDATE relationships SET description = ?, keywords = ?, weight = ?, source_ids = ?,"
            " updated_at = ? WHERE id = ?",
            (merge_description(description, rel.description),
             merge_keywords(keywords, rel.keywords), max(weight, rel.weight),
             merge_sources(sources, rel.source_id), now, rel_id),
        )

    def delete_entity(self, ns: str, name: str) -> bool:
        with self._write() as conn:
            row = conn.execute(
                "SELECT id FROM entities WHERE ns = ? AND key = ?", (ns, name_key(name))
            ).fetchone()
            if row is None:
                return False
            self._bump(conn, ns)
            conn.execute("DELETE FROM relationships WHERE src = ? OR tgt = ?", (row[0], row[0]))
            conn.execute("DELETE FROM entity_fts WHERE rowid = ?", (row[0],))
            conn.execute("DELETE FROM entities WHERE id = ?", (row[0],))
        return True

    # analysis versions ---------------------------------------------------------------------
    def new_version(self, ns: str, keep_previous: int) -> tuple[int, list[int], list[int]]:
        """Start version n+1 of ``ns``: what it holds now becomes version n's archive (or is
        deleted when ``keep_previous`` is 0), so the namespace starts empty; archives beyond
        the newest ``keep_previous`` are deleted. Returns ``(version, archived, removed)``.

        Archives live in their own namespace (``<ns>@v<n>``, which no project scope can
        spell) and are not searchable: queries only ever see the latest version.
        """
        archived: list[int] = []
        removed: list[int] = []
        with self._write() as conn:
            row = conn.execute("SELECT max(version) FROM analysis_versions WHERE ns = ?",
                               (ns,)).fetchone()
            current = int(row[0]) if row and row[0] is not None else 0
            holds = conn.execute("SELECT 1 FROM entities WHERE ns = ? UNION ALL SELECT 1 FROM"
                                 " chunks WHERE ns = ? LIMIT 1", (ns, ns)).fetchone()
            now = time.time()
            if holds is not None:
                self._bump(conn, ns)
                if keep_previous > 0:
                    archive = archive_ns(ns, current)
                    self._move(conn, ns, archive)
                    conn.execute(
                        "INSERT INTO analysis_versions (ns, version, created_at, archive)"
                        " VALUES (?, ?, ?, ?) ON CONFLICT (ns, version) DO UPDATE SET"
                        " archive = excluded.archive", (ns, current, now, archive))
                    archived.append(current)
                else:
                    self._drop(conn, ns)
                    removed.append(current)
            version = current + 1
            conn.execute("INSERT INTO analysis_versions (ns, version, created_at, archive)"
                         " VALUES (?, ?, ?, NULL)", (ns, version, now))
            kept = conn.execute(
                "SELECT version, archive FROM analysis_versions WHERE ns = ? AND archive IS"
                " NOT NULL ORDER BY version DESC", (ns,)).fetchall()
            for old, archive in kept[keep_previous:]:
                self._drop(conn, archive)
                conn.execute("UPDATE analysis_versions SET archive = NULL WHERE ns = ? AND"
                             " version = ?", (ns, old))
                removed.append(int(old))
        return version, archived, removed

    def versions(self, ns: str) -> list[tuple[int, str | None]]:
        """``(version, archive namespace or None)`` of ``ns``, oldest first."""
        rows = self._conn().execute(
            "SELECT version, archive FROM analysis_versions WHERE ns = ? ORDER BY version",
            (ns,))
        return [(int(v), a) for v, a in rows]

    def _move(self, conn: sqlite3.Connection, ns: str, target: str) -> None:
        """Everything of ``ns`` into ``target``, out of the search indexes."""
        conn.execute("DELETE FROM entity_fts WHERE rowid IN (SELECT id FROM entities WHERE"
                     " ns = ?)", (ns,))
        conn.execute("DELETE FROM chunk_fts WHERE rowid IN (SELECT id FROM chunks WHERE"
                     " ns = ?)", (ns,))
        for table in ("entities", "relationships", "chunks"):
            conn.execute(f"UPDATE {table} SET ns = ? WHERE ns = ?", (target, ns))

    def _drop(self, conn: sqlite3.Connection, ns: str) -> None:
        conn.execute("DELETE FROM entity_fts WHERE rowid IN (SELECT id FROM entities WHERE"
                     " ns = ?)", (ns,))
        conn.execute("DELETE FROM chunk_fts WHERE rowid IN (SELECT id FROM chunks WHERE"
                     " ns = ?)", (ns,))
        for table in ("relationships", "entities", "chunks"):
            conn.execute(f"DELETE FROM {table} WHERE ns = ?", (ns,))

    # reads ---------------------------------------------------------------------------------
    def adjacency_cache(self, conn: sqlite3.Connection, ns: str) -> AdjacencyCache:
        """Adjacency lists of ``ns`` already read, valid for the snapshot ``conn`` reads.

        Queries share it (a crew asks about the same characters again and again); any write to
        the namespace, by any process, bumps its version and so starts a fresh cache.
        """
        row = conn.execute("SELECT version FROM graph_versions WHERE ns = ?", (ns,)).fetchone()
        version = int(row[0]) if row else 0
        with self._lock:
            cached = self._adjacency.get(ns)
            if (cached is None or cached[0] != version
                    or len(cached[1].adj) > ADJACENCY_CACHE_NODES):
                cached = (version, AdjacencyCache())
                self._adjacency[ns] = cached
                while len(self._adjacency) > ADJACENCY_CACHE_NAMESPACES:
                    self._adjacency.pop(next(iter(self._adjacency)))
            return cached[1]

    def search_entities(
        self, conn: sqlite3.Connection, ns: str, match: str, limit: int,
        types: Sequence[str] | None,
    ) -> list[tuple[int, float]]:
        """``(id, bm25)`` best first (bm25 is negative: lower is better); names weigh 10x."""
        sql = (
            "SELECT f.rowid, bm25(entity_fts, 0.0, 10.0, 1.0) AS rank FROM entity_fts f"
            " WHERE entity_fts MATCH ?"
        )
        params: list[object] = [f"nskey:{ns_token(ns)} AND ({match})"]
        if types:
            sql += (
                " AND f.rowid IN (SELECT id FROM entities WHERE ns = ? AND type IN"
                f" ({','.join('?' * len(types))}))"
            )
            params += [ns, *types]
        sql += " ORDER BY rank LIMIT ?"
        params.append(limit)
        return [(int(r[0]), float(r[1])) for r in conn.execute(sql, params)]

    def entities_by_keys(
        self, conn: sqlite3.Connection, ns: str, keys: Iterable[str]
    ) -> list[int]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return []
        rows = conn.execute(
            f"SELECT id FROM entities WHERE ns = ? AND key IN ({','.join('?' * len(keys))})",
            [ns, *keys],
        )
        return [int(r[0]) for r in rows]

    def entities_of_type(
        self, conn: sqlite3.Connection, ns: str, entity_type: str, limit: int
    ) -> list[int]:
        """Entities of one type in the order they were first written."""
        rows = conn.execute(
            "SELECT id FROM entities WHERE ns = ? AND type = ? ORDER BY id LIMIT ?",
            (ns, entity_type, limit),
        )
        return [int(r[0]) for r in rows]

    def entities(self, conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, EntityRow]:
        out: dict[int, EntityRow] = {}
        for batch in _batches(list(dict.fromkeys(ids))):
            rows = conn.execute(
                "SELECT id, name, type, description, source_ids FROM entities"
                f" WHERE id IN ({','.join('?' * len(batch))})",
                batch,
            )
            for row in rows:
                out[int(row[0])] = EntityRow(int(row[0]), row[1], row[2], row[3], row[4])
        return out

    def links(
        self, conn: sqlite3.Connection, node_ids: Iterable[int]
    ) -> list[tuple[int, int, int, float]]:
        """``(id, src, tgt, weight)`` of every edge touching ``node_ids`` (index-only reads)."""
        out: list[tuple[int, int, int, float]] = []
        for batch in _batches(list(dict.fromkeys(node_ids))):
            marks = ",".join("?" * len(batch))
            out += conn.execute(
                f"SELECT id, src, tgt, weight FROM relationships WHERE src IN ({marks})"
                f" UNION ALL SELECT id, src, tgt, weight FROM relationships WHERE tgt IN ({marks})",
                [*batch, *batch],
            ).fetchall()
        return out

    def edges(self, conn: sqlite3.Connection, edge_ids: Iterable[int]) -> dict[int, EdgeRow]:
        """The full rows of the edges ``edge_ids``."""
        out: dict[int, EdgeRow] = {}
        for batch in _batches(list(dict.fromkeys(edge_ids))):
            rows = conn.execute(
                "SELECT id, src, tgt, description, keywords, weight, source_ids"
                f" FROM relationships WHERE id IN ({','.join('?' * len(batch))})",
                batch,
            )
            for row in rows:
                out[int(row[0])] = EdgeRow(
                    int(row[0]), int(row[1]), int(row[2]), row[3], row[4], float(row[5]), row[6]
                )
        return out

    def search_chunks(
        self, conn: sqlite3.Connection, ns: str, match: str, limit: int
    ) -> list[tuple[int, float]]:
        rows = conn.execute(
            "SELECT rowid, bm25(chunk_fts, 0.0, 1.0) AS rank FROM chunk_fts"
            " WHERE chunk_fts MATCH ? ORDER BY rank LIMIT ?",
            (f"nskey:{ns_token(ns)} AND ({match})", limit),
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def chunks_by_sources(
        self, conn: sqlite3.Connection, ns: str, sources: Iterable[str]
    ) -> dict[str, list[tuple[int, str]]]:
        out: dict[str, list[tuple[int, str]]] = {}
        wanted = [s for s in dict.fromkeys(sources) if s]
        for batch in _batches(wanted):
            rows = conn.execute(
                "SELECT id, source_id, content FROM chunks WHERE ns = ?"
                f" AND source_id IN ({','.join('?' * len(batch))})",
                [ns, *batch],
            )
            for row in rows:
                out.setdefault(row[1], []).append((int(row[0]), row[2]))
        return out

    def chunks(self, conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        out: dict[int, tuple[str, str]] = {}
        for batch in _batches(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(batch))
            rows = conn.execute(
                f"SELECT id, source_id, content FROM chunks WHERE id IN ({marks})", batch
            )
            for row in rows:
                out[int(row[0])] = (row[1], row[2])
        return out

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """A read snapshot for the retrieval of one query."""
        with self._read() as conn:
            yield conn

    def listing(self, ns: str, max_entities: int, max_links: int
                ) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str, str, float]],
                           bool, int, int]:
        """Entities ``(name, type, description)`` and links ``(source, target, description,
        keywords, weight)`` of ``ns``, the entities with the most links first, whether the caps
        cut them, and the whole graph's entity and link counts (read in the same snapshot, so
        a reader can say "300 of 1,234")."""
        with self._read() as conn:
            total_entities, total_links = (int(conn.execute(
                f"SELECT count(*) FROM {table} WHERE ns = ?", (ns,)).fetchone()[0])
                for table in ("entities", "relationships"))
            rows = conn.execute(
                "SELECT e.id, e.name, e.type, e.description, "
                "(SELECT count(*) FROM relationships r WHERE r.ns = e.ns AND "
                " (r.src = e.id OR r.tgt = e.id)) AS degree "
                "FROM entities e WHERE e.ns = ? ORDER BY degree DESC, e.id LIMIT ?",
                (ns, max_entities + 1)).fetchall()
            truncated = len(rows) > max_entities
            rows = rows[:max_entities]
            names = {int(r[0]): str(r[1]) for r in rows}
            links: list[tuple[str, str, str, str, float]] = []
            for src, tgt, desc, keywords, weight in conn.execute(
                    "SELECT src, tgt, description, keywords, weight FROM relationships "
                    "WHERE ns = ? ORDER BY weight DESC, id", (ns,)):
                if src in names and tgt in names:
                    if len(links) == max_links:
                        truncated = True
                        break
                    links.append((names[src], names[tgt], desc, keywords, float(weight)))
        return ([(str(r[1]), str(r[2]), str(r[3])) for r in rows], links, truncated,
                total_entities, total_links)

    def counts(self, ns: str) -> dict[str, int]:
        conn = self._conn()
        return {
            table: int(
                conn.execute(f"SELECT count(*) FROM {table} WHERE ns = ?", (ns,)).fetchone()[0]
            )
            for table in ("entities", "relationships", "chunks")
        }

    def ping(self) -> None:
        self._conn().execute("SELECT 1 FROM meta LIMIT 1").fetchone()


def _batches(items: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def source_list(source_ids: str) -> list[str]:
    return [s for s in source_ids.split(SOURCE_SEP) if s]
