"""Every gold file under examples/gold is valid and in step with its story."""

from __future__ import annotations

from pathlib import Path

import pytest

from novelcrew_eval import GoldError, load_gold

GOLD_DIR = Path(__file__).resolve().parents[3] / "examples" / "gold"
GOLD_FILES = sorted(GOLD_DIR.glob("*.yaml"))


@pytest.mark.parametrize("path", GOLD_FILES, ids=[p.stem for p in GOLD_FILES])
def test_gold_file_is_valid_and_quotes_its_story_verbatim(path: Path) -> None:
    loaded = load_gold(path)  # raises GoldError naming the first problem
    assert loaded.text.startswith(loaded.gold.title or "")
    for scene, start in zip(loaded.gold.scenes, loaded.scene_starts, strict=True):
        assert loaded.text[start:].startswith(scene.starts_with)
    for line in loaded.gold.dialogue:
        assert line.line in loaded.text


def test_the_gold_set_covers_what_the_scores_need() -> None:
    golds = [load_gold(p) for p in GOLD_FILES]
    assert len(golds) >= 6
    assert max(len(g.text.split()) for g in golds) > 30_000
    assert any(g.gold.vehicles and g.gold.animals for g in golds)
    assert any(s.int_ext == "EXT" and s.day_night == "NIGHT" for g in golds for s in g.gold.scenes)
    assert max(len(g.gold.characters) for g in golds) >= 10  # an ensemble cast
    assert max(len(c.aliases) for g in golds for c in g.gold.characters) >= 3


def _gold(tmp_path: Path, body: str) -> Path:
    (tmp_path / "story.txt").write_text(
        'Title\n\nAda Kerr opened the door. "Come in," she said. Later, Ben left.\n')
    path = tmp_path / "g.yaml"
    path.write_text("story: story.txt\n" + body)
    return path


BASE = """characters: [{name: Ada Kerr, aliases: [Ada]}, {name: Ben}]
locations: [the hall]
"""


def test_a_starts_with_not_in_the_story_is_named(tmp_path: Path) -> None:
    path = _gold(tmp_path, BASE + """scenes:
  - {starts_with: "Ada Kerr shut the door", int_ext: INT, day_night: DAY, location: the hall}
""")
    with pytest.raises(GoldError, match="scene 1: starts_with 'Ada Kerr shut the door' not found"):
        load_gold(path)


def test_scenes_out_of_order_are_refused(tmp_path: Path) -> None:
    path = _gold(tmp_path, BASE + """scenes:
  - {starts_with: "Later, Ben left.", int_ext: INT, day_night: DAY, location: the hall}
  - {starts_with: "Ada Kerr opened", int_ext: INT, day_night: DAY, location: the hall}
""")
    with pytest.raises(GoldError, match=r"scene 2: .* not found after the previous scene"):
        load_gold(path)


def test_a_dialogue_line_not_verbatim_is_named(tmp_path: Path) -> None:
    path = _gold(tmp_path, BASE + """scenes:
  - {starts_with: "Ada Kerr opened", int_ext: INT, day_night: DAY, location: the hall}
dialogue:
  - {line: "Come inside", speaker: Ada}
""")
    with pytest.raises(GoldError, match=r"dialogue not found verbatim .*'Come inside'"):
        load_gold(path)


def test_a_look_not_in_the_story_is_named(tmp_path: Path) -> None:
    scene = """scenes:
  - {starts_with: "Ada Kerr opened", int_ext: INT, day_night: DAY, location: the hall}
"""
    looks = "characters: [{name: Ada Kerr, aliases: [Ada], looks: [%s]}, {name: Ben}]\n"
    rest = BASE.split("\n", 1)[1] + scene
    assert load_gold(_gold(tmp_path, looks % "OPENED  the door" + rest)).gold.characters[0].looks
    with pytest.raises(GoldError, match=r"looks not found in story.txt: Ada Kerr: 'red hair'"):
        load_gold(_gold(tmp_path, looks % "red hair" + rest))


def test_unknown_names_and_values_are_refused(tmp_path: Path) -> None:
    path = _gold(tmp_path, BASE + """scenes:
  - {starts_with: "Ada Kerr opened", int_ext: INSIDE, day_night: DAY, location: the barn,
     characters: [Cara]}
""")
    with pytest.raises(GoldError) as info:
        load_gold(path)
    assert "int_ext" in str(info.value)
    path = _gold(tmp_path, BASE + """scenes:
  - {starts_with: "Ada Kerr opened", int_ext: INT, day_night: DAY, location: the barn,
     characters: [Cara]}
""")
    with pytest.raises(GoldError, match=r"location 'the barn' not in locations.*'Cara' not in"):
        load_gold(path)
