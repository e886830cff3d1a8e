"""Project scoping: every name and ``source_id`` a project writes lives under its scope.

The embedded store keeps one namespace per scope. The remote PathRAG service has no notion of
projects, so the client writes ``<scope>::<name>`` and ``<scope>::<source_id>`` and keeps only
results carrying its own prefix. Upstream PathRAG upper-cases entity names, so prefixes are
matched case-insensitively and quotes around names are dropped.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

SEP = "::"
#: The scope of a job without a project.
DEFAULT_SCOPE = "_default"
#: What a scope looks like once encoded (percent-encoding keeps ``:`` out of it).
SCOPE_RE = r"[A-Za-z0-9_.~%\-]+"
_ANY_PREFIX = re.compile(rf"(?<![A-Za-z0-9_.~%\-])({SCOPE_RE}){SEP}")


def scope_for(project_id: str | int | None) -> str:
    """The scope of a project: its id, percent-encoded so it never contains ``::``."""
    if project_id is None or str(project_id).strip() == "":
        return DEFAULT_SCOPE
    return quote(str(project_id).strip(), safe="-_.~")


def project_of(scope: str) -> str:
    return unquote(scope)


def scoped(scope: str, name: str) -> str:
    """``name`` as stored on a shared (remote) service."""
    return f"{scope}{SEP}{name}" if name else name


def split(value: str) -> tuple[str, str]:
    """``(scope, plain)`` of a stored name; ``("", value)`` when it carries no scope."""
    text = value.strip().strip('"')
    head, sep, tail = text.partition(SEP)
    if sep and re.fullmatch(SCOPE_RE, head):
        return head, tail
    return "", text


def belongs(scope: str, value: str) -> bool:
    head, _ = split(value)
    return head.casefold() == scope.casefold()


def strip(scope: str, value: str) -> str:
    """``value`` without this scope's prefix (case-insensitive), quotes dropped."""
    head, plain = split(value)
    return plain if head.casefold() == scope.casefold() else value.strip().strip('"')


def strip_text(scope: str, text: str) -> str:
    """Free text with this scope's prefixes removed wherever they occur."""
    pattern = re.compile(rf"(?<![A-Za-z0-9_.~%\-]){re.escape(scope)}{SEP}", re.IGNORECASE)
    return pattern.sub("", text)


def foreign_prefixes(scope: str, text: str) -> bool:
    """Whether ``text`` mentions another scope's names (so it must not be shown)."""
    return any(m.group(1).casefold() != scope.casefold() for m in _ANY_PREFIX.finditer(text))
