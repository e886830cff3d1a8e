"""Every file a README or a docs page points at exists: relative links, and repository paths
written in backticks (``examples/stories/...``, ``core/src/novelcrew/...``).

A path is looked up from the repository root when it starts with a top-level folder, else
from the Markdown file's own folder. URLs, globs and placeholders (``<name>``, ``NAME``,
``...``) are not paths.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = ("core/", "sdk/", "plugins/", "examples/", "docs/", "deploy/", "bench/", "tests/",
       "scripts/", ".ci/")
#: files a page tells the reader to write, or that a run writes: not in the repository
WRITTEN_BY_USERS = {"novelcrew.toml", "scores.json", ".env"}
SKIP_PARTS = ("node_modules", ".venv", "template")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s#]+)(?:#[^)]*)?\)")
CODE = re.compile(r"`([^`\s]+)`")


def markdown_files() -> list[Path]:
    files = [ROOT / "README.md", *ROOT.glob("*/README.md"), *(ROOT / "docs").glob("*.md"),
             *ROOT.glob("plugins/*/README.md"), *ROOT.glob("examples/**/README.md")]
    return sorted({p for p in files if p.is_file()
                   and not any(part in p.parts for part in SKIP_PARTS)})


def _is_placeholder(path: str) -> bool:
    return (any(ch in path for ch in "<>*{}$|") or "..." in path or "NAME" in path
            or path.upper() == path or path.startswith(("http:", "https:", "mailto:", "/")))


def referenced(md: Path) -> list[tuple[str, Path]]:
    text = md.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks show commands, not links
    found: list[tuple[str, Path]] = []
    for target in LINK.findall(text):
        if not _is_placeholder(target):
            base = ROOT if target.startswith(TOP) else md.parent
            found.append((target, base / target))
    for token in CODE.findall(text):
        token = token.rstrip(".,:;")
        if token.startswith(TOP) and not _is_placeholder(token) and ":" not in token:
            token = token.split("::")[0]
            local = md.parent / token  # a plugin's README may name its own tests/ folder
            found.append((token, local if local.exists() else ROOT / token))
        elif token in WRITTEN_BY_USERS:
            continue
        elif (re.fullmatch(r"[\w.-]+\.(?:py|toml|yaml|yml|md|txt|json|cfg|ini|sh)", token)
              and md.parent != ROOT / "docs" and md.parent != ROOT):
            # a bare file name in a package's README: somewhere in that package
            hits = [p for base in (md.parent, ROOT / "examples") for p in base.rglob(token)
                    if not any(part in p.parts for part in SKIP_PARTS)]
            found.append((token, hits[0] if hits else md.parent / token))
    return found


@pytest.mark.parametrize("md", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_page_mentions_exists(md: Path) -> None:
    missing = sorted({name for name, path in referenced(md) if not path.exists()})
    assert not missing, f"{md.relative_to(ROOT)} mentions paths that do not exist: {missing}"


def test_the_checker_finds_links_and_backticked_paths(tmp_path: Path) -> None:
    page = tmp_path / "README.md"
    page.write_text("See [the guide](docs/nope.md) and `examples/stories/missing.txt`, "
                    "not `NOVELCREW_<NAME>` nor `https://example.com/x`.\n")
    names = [name for name, _ in referenced(page)]
    assert names == ["docs/nope.md", "examples/stories/missing.txt"]


COMMAND_BLOCK = re.compile(r"```(?:console|bash|sh|shell)\n(.*?)```", flags=re.S)


def commanded(md: Path) -> list[tuple[str, Path]]:
    """Repository paths in the ``$ ...`` lines of a page's console blocks: a reader runs those
    as written, so ``novelcrew run x --story examples/stories/...`` must name a real story."""
    found: list[tuple[str, Path]] = []
    for block in COMMAND_BLOCK.findall(md.read_text(encoding="utf-8")):
        for line in block.splitlines():
            if not line.lstrip().startswith("$"):
                continue
            for token in re.split(r"[\s=]+", line):
                token = token.strip("'\"").rstrip(".,:;").removeprefix("./")
                if token.startswith(TOP) and not _is_placeholder(token):
                    token = token.split("[")[0]  # an extra: examples/logline-crew[test]
                    local = md.parent / token
                    found.append((token, local if local.exists() else ROOT / token))
    return found


@pytest.mark.parametrize("md", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_shown_command_uses_exists(md: Path) -> None:
    missing = sorted({name for name, path in commanded(md) if not path.exists()})
    assert not missing, f"{md.relative_to(ROOT)} shows commands on missing paths: {missing}"


def test_the_command_checker_reads_console_lines_only(tmp_path: Path) -> None:
    page = tmp_path / "README.md"
    page.write_text("```console\n$ novelcrew run x --story examples/stories/missing.txt\n"
                    "examples/not-a-command.txt\n$ pip install './examples/logline-crew[test]'\n"
                    "```\n")
    assert [name for name, _ in commanded(page)] == ["examples/stories/missing.txt",
                                                     "examples/logline-crew"]
