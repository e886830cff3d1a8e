"""The ``context`` string: sections of CSV in the layout upstream PathRAG uses, and its parser.

Writing the same layout as upstream (``-----Entities-----`` then a fenced ```` ```csv ```` block)
lets one parser read both our server's context and the upstream service's, so a remote client
fills the structured fields best-effort even when the service only returns text.
"""

from __future__ import annotations

import csv
import io
import re

from novelcrew_pathrag.models import ChunkHit, EntityHit, QueryResult, RelationshipHit

ENTITY_HEADER = ["id", "entity", "type", "description", "rank"]
RELATION_HEADER = ["id", "source", "target", "keywords", "description", "weight"]
PATH_HEADER = ["id", "path"]
SOURCE_HEADER = ["id", "source_id", "content"]
PATH_ARROW = " -> "

_SECTION = re.compile(r"-----([^\n-][^\n]*?)-----\s*\n```csv\n(.*?)\n?```", re.DOTALL)


def csv_line(row: list[str]) -> str:
    """One CSV row as ``csv.writer(lineterminator="\\n")`` writes it (minimal quoting, doubled
    quotes); ``fit_budget`` formats each row once, which is what keeps this cheap enough."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row)
    return buffer.getvalue()


def section_head(title: str, header: list[str]) -> str:
    return f"-----{title}-----\n```csv\n{csv_line(header)}"


SECTION_TAIL = "```\n"


def _rows(body: str) -> list[dict[str, str]]:
    """CSV rows as dicts; accepts our quoted CSV and upstream's ``,\\t`` separated rows."""
    text = body.replace(",\t", ",")
    reader = csv.reader(io.StringIO(text), skipinitialspace=True)
    rows = [row for row in reader if row]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    out = []
    for row in rows[1:]:
        if len(row) > len(header):  # an unquoted comma inside the last column
            row = [*row[: len(header) - 1], ",".join(row[len(header) - 1 :])]
        out.append(dict(zip(header, (cell.strip() for cell in row), strict=False)))
    return out


def _float(value: str | None, default: float = 0.0) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


def parse_context(text: str) -> QueryResult:
    """Structured fields read back from a context string (best-effort on foreign text)."""
    result = QueryResult(context=text)
    seen_entities: set[str] = set()
    for title, body in _SECTION.findall(text):
        rows = _rows(body)
        title = title.lower()
        for row in rows:
            if "entity" in row and "entit" in title:
                name = row["entity"].strip('"')
                if name and name.casefold() not in seen_entities:
                    seen_entities.add(name.casefold())
                    result.entities.append(EntityHit(
                        name=name, type=row.get("type", "").strip('"').lower() or "unknown",
                        description=row.get("description", ""), score=_float(row.get("rank")),
                    ))
            elif "relation" in title and "source" in row and "target" in row:
                result.relationships.append(RelationshipHit(
                    src=row["source"].strip('"'), tgt=row["target"].strip('"'),
                    description=row.get("description", ""), keywords=row.get("keywords", ""),
                    weight=_float(row.get("weight"), 1.0),
                ))
            elif "path" in title and "path" in row:
                nodes = [node.strip() for node in row["path"].split(PATH_ARROW.strip())]
                result.paths.append([node.strip(">").strip() for node in nodes if node])
            elif "source" in title and "content" in row:
                result.chunks.append(
                    ChunkHit(content=row["content"], source_id=row.get("source_id", ""))
                )
    return result
