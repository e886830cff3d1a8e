"""Splitting a story into pieces a model can read: at chapter headings first, then by size.

Chapters are kept whole and packed together while they fit; a chapter too long for one prompt
is cut at paragraph boundaries (then sentences, then characters, for pathological text). Every
piece after the first carries the end of the one before it as context, so a model knows who
"she" is without that text being analysed twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from novelcrew_architect.tokens import count_words, estimate_tokens, tokens_for

_ROMAN = r"(?=[MDCLXVI])M{0,4}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty"
)
HEADING_RE = re.compile(
    r"^[ \t]*(?:"
    r"#{1,6}[ \t]+\S.*"  # Markdown heading
    r"|(?:chapter|part|book|act)[ \t]+(?:\d+|" + _ROMAN + r"|(?:" + _NUMBER_WORDS + r")"
    r"(?:[ \t-]+\w+)?)\b.*"  # Chapter 3, PART II, Chapter Twenty-One: ...
    r"|(?:prologue|epilogue|interlude|afterword|foreword)\b.*"
    r"|" + _ROMAN + r"\.?(?:[ \t]+\S.*)?"  # IV  or  IV. The Storm
    r"|\d{1,3}\.?"  # a lone chapter number
    r")[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_KEYWORD_RE = re.compile(
    r"(?:chapter|part|book|act|prologue|epilogue|interlude|afterword|foreword)\b", re.IGNORECASE
)
_MAX_HEADING_CHARS = 80
_PARAGRAPH_SPLIT = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?:(?<=[.!?\u2026])|(?<=[.!?\u2026][\"'\u201d\u2019)]))\s+")


@dataclass(frozen=True)
class Chunk:
    """One piece of the story, in order."""

    index: int  #: 0-based position
    id: str  #: stable id used as ``source_id`` in the knowledge graph
    text: str
    heading: str  #: the chapter heading it starts in ("" before the first heading)
    context: str = ""  #: end of the previous piece, for continuity only
    start: int = 0  #: character offset in the (normalised) story
    end: int = 0  #: where the next chunk starts (or the story ends)

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.text) + estimate_tokens(self.context)

    @property
    def words(self) -> int:
        return count_words(self.text)


@dataclass(frozen=True)
class Section:
    heading: str
    text: str
    start: int


def normalise(text: str) -> str:
    """Unix newlines, no trailing spaces, no runs of more than one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _is_heading(line: str, prev_blank: bool, next_blank: bool) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > _MAX_HEADING_CHARS:
        return False
    if not HEADING_RE.fullmatch(line):
        return False
    if stripped.startswith("#"):
        return True
    # a real heading starts a block ("Part of me knew..." does not match the pattern, but
    # "I." could be dialogue): keyword headings may carry a subtitle on the next line, bare
    # numerals must stand alone
    if _KEYWORD_RE.match(stripped):
        return prev_blank
    return prev_blank and next_blank


def sections(text: str) -> list[Section]:
    """The story cut at its chapter headings; the text before the first heading comes first."""
    lines = text.split("\n")
    offsets: list[int] = []
    pos = 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    cuts: list[int] = []
    for i, line in enumerate(lines):
        prev_blank = i == 0 or not lines[i - 1].strip()
        next_blank = i + 1 >= len(lines) or not lines[i + 1].strip()
        if _is_heading(line, prev_blank, next_blank):
            cuts.append(i)
    headed = set(cuts)
    if not cuts or cuts[0] != 0:
        cuts.insert(0, 0)
    out: list[Section] = []
    for n, first in enumerate(cuts):
        last = cuts[n + 1] if n + 1 < len(cuts) else len(lines)
        body = "\n".join(lines[first:last]).strip()
        if not body:
            continue
        heading = lines[first].strip().lstrip("#").strip() if first in headed else ""
        out.append(Section(heading=heading, text=body, start=offsets[first]))
    return out


def _split_hard(text: str, max_tokens: int) -> list[str]:
    """Cut ``text`` into pieces under ``max_tokens``: sentences, then words, then characters."""
    pieces: list[str] = []
    for unit in _SENTENCE_END.split(text):
        if estimate_tokens(unit) <= max_tokens:
            pieces.append(unit)
            continue
        # running character and word counts of " ".join(current): linear, not quadratic
        # (a story without punctuation is one long "sentence")
        current: list[str] = []
        chars = words = 0
        for word in unit.split(" "):
            if estimate_tokens(word) > max_tokens:
                step = max(1, max_tokens * 3)
                if current:
                    pieces.append(" ".join(current))
                    current, chars, words = [], 0, 0
                pieces.extend(word[i: i + step] for i in range(0, len(word), step))
                continue
            word_chars, word_words = len(word), count_words(word)
            if current and tokens_for(chars + 1 + word_chars, words + word_words) > max_tokens:
                pieces.append(" ".join(current))
                current, chars, words = [], 0, 0
            chars += word_chars + (1 if current else 0)
            words += word_words
            current.append(word)
        if current:
            pieces.append(" ".join(current))
    return _pack(pieces, max_tokens, " ")


def _pack(units: list[str], max_tokens: int, joiner: str) -> list[str]:
    """Greedily join consecutive units while the result stays under ``max_tokens``."""
    out: list[str] = []
    current: list[str] = []
    current_tokens = 0
    for unit in units:
        unit_tokens = estimate_tokens(unit) + 1
        if current and current_tokens + unit_tokens > max_tokens:
            out.append(joiner.join(current))
            current, current_tokens = [], 0
        current.append(unit)
        current_tokens += unit_tokens
    if current:
        out.append(joiner.join(current))
    return out


def _paragraph_pieces(text: str, max_tokens: int) -> list[str]:
    """``text`` cut at paragraph boundaries into pieces under ``max_tokens``."""
    units: list[str] = []
    for para in _PARAGRAPH_SPLIT.split(text):
        if not para.strip():
            continue
        if estimate_tokens(para) + 1 > max_tokens:
            units.extend(_split_hard(para, max_tokens - 1))
        else:
            units.append(para)
    return _pack(units, max_tokens, "\n\n")


def _tail(text: str, max_tokens: int) -> str:
    """The last whole paragraphs of ``text`` that fit in ``max_tokens`` (or its last words)."""
    if max_tokens <= 0:
        return ""
    paras = [p for p in _PARAGRAPH_SPLIT.split(text) if p.strip()]
    picked: list[str] = []
    used = 0
    for para in reversed(paras):
        cost = estimate_tokens(para) + 1
        if used + cost > max_tokens:
            break
        picked.insert(0, para)
        used += cost
    if picked:
        return "\n\n".join(picked)
    words = text.split()
    tail: list[str] = []
    for word in reversed(words):
        if estimate_tokens(" ".join([word, *tail])) > max_tokens:
            break
        tail.insert(0, word)
    return " ".join(tail)


def split_story(text: str, max_tokens: int, overlap_tokens: int = 300) -> list[Chunk]:
    """Split ``text`` into chunks whose text plus context stay under ``max_tokens``.

    Whole chapters are packed together while they fit; longer ones are cut at paragraphs.
    Each chunk after the first gets up to ``overlap_tokens`` of the text before it as context.
    """
    if max_tokens < 50:
        raise ValueError(f"max_tokens={max_tokens} leaves no room for story text")
    overlap_tokens = max(0, min(overlap_tokens, max_tokens // 4))
    body_tokens = max_tokens - overlap_tokens
    text = normalise(text)
    pieces: list[tuple[str, str, int]] = []  # heading, text, start
    current: list[Section] = []
    current_tokens = 0

    def flush() -> None:
        nonlocal current, current_tokens
        if current:
            pieces.append((current[0].heading, "\n\n".join(s.text for s in current),
                           current[0].start))
        current, current_tokens = [], 0

    for section in sections(text):
        tokens = estimate_tokens(section.text) + 2
        if tokens > body_tokens:
            flush()
            offset = section.start
            for part in _paragraph_pieces(section.text, body_tokens):
                pieces.append((section.heading, part, offset))
                offset += len(part)
            continue
        if current and current_tokens + tokens > body_tokens:
            flush()
        current.append(section)
        current_tokens += tokens
    flush()

    # where each piece lies in the story (the joins above keep pieces verbatim but for
    # sentence-level cuts, which are found by their opening)
    starts: list[int] = []
    pos = 0
    for _heading, body, approx in pieces:
        at = text.find(body, pos)
        if at < 0:
            at = text.find(body[:60], pos)
        starts.append(at if at >= 0 else max(pos, approx))
        pos = starts[-1] + 1
    chunks: list[Chunk] = []
    width = max(3, len(str(len(pieces))))
    for index, (heading, body, _approx) in enumerate(pieces):
        context = _tail(pieces[index - 1][1], overlap_tokens) if index else ""
        end = starts[index + 1] if index + 1 < len(pieces) else len(text)
        chunks.append(Chunk(index=index, id=f"chunk-{index + 1:0{width}d}", text=body,
                            heading=heading, context=context, start=starts[index], end=end))
    return chunks
