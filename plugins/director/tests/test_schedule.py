"""The computed schedule (stripboard, shooting days, day-out-of-days), page eighths and the shot
vocabulary: pure Python, no model."""

from __future__ import annotations

import pytest

from novelcrew_director.pages import format_eighths, page_eighths, screenplay_lines
from novelcrew_director.schedule import Strip, build_schedule, day_out_of_days, pack, stripboard
from novelcrew_director.vocabulary import (
    Angle,
    Coverage,
    Movement,
    ShotSize,
    Support,
    parse_angle,
    parse_coverage,
    parse_day_night,
    parse_int_ext,
    parse_lens,
    parse_movement,
    parse_size,
    parse_support,
)


def strip(scene: int, location: str, dn: str = "DAY", eighths: int = 8, hours: float = 2.0,
          cast: tuple[str, ...] = (), ie: str = "INT") -> Strip:
    return Strip(scene=scene, location=location, int_ext=ie, day_night=dn, eighths=eighths,
                 hours=hours, cast=list(cast))


def test_scenes_group_by_location_day_work_first() -> None:
    strips = [strip(1, "Kitchen", "NIGHT"), strip(2, "Jetty"), strip(3, "Kitchen"),
              strip(4, "Rocks", "NIGHT"), strip(5, "jetty ", "DUSK"), strip(6, "Kitchen")]
    order = [s.scene for s in stripboard(strips)]
    # day work: Kitchen (3, 6), then Jetty (2, 5: names compared without case or spaces);
    # night work: Kitchen (1), Rocks (4)
    assert order == [3, 6, 2, 5, 1, 4]


def test_days_close_on_the_page_budget_and_never_mix_day_and_night() -> None:
    strips = [strip(1, "A", eighths=16), strip(2, "A", eighths=16), strip(3, "A", eighths=16),
              strip(4, "A", "NIGHT", eighths=4)]
    days = pack(stripboard(strips), pages_per_day=5, hours_per_day=24)
    assert [[s.scene for s in d.strips] for d in days] == [[1, 2], [3], [4]]
    assert [d.work for d in days] == ["day", "day", "night"]
    assert [d.pages for d in days] == ["4", "2", "4/8"]


def test_the_hour_budget_counts_company_moves() -> None:
    # 4 h + 0.75 h move + 4 h = 8.75 h fits 9 hours; a third location does not
    strips = [strip(1, "A", hours=4), strip(2, "B", hours=4), strip(3, "C", hours=0.5)]
    days = pack(stripboard(strips), pages_per_day=50, hours_per_day=9)
    assert [[s.scene for s in d.strips] for d in days] == [[1, 2], [3]]
    assert days[0].company_moves == 1 and days[0].hours == 8.75
    assert days[1].company_moves == 0  # moving between days happens overnight


def test_a_scene_longer_than_a_day_is_split_over_days() -> None:
    days = pack([strip(1, "A", eighths=100, hours=3)], pages_per_day=5, hours_per_day=10)
    assert [d.strips[0].part for d in days] == ["1/3", "2/3", "3/3"]
    assert sum(d.eighths for d in days) == 100 and all(d.eighths <= 40 for d in days)
    assert sum(d.strips[0].hours for d in days) == pytest.approx(3, abs=0.02)


def test_day_out_of_days_codes() -> None:
    strips = [strip(1, "A", cast=("mara", "tomas")), strip(2, "B", cast=("mara",)),
              strip(3, "C", cast=("mara", "tomas")), strip(4, "D", cast=("crew",))]
    days = pack(strips, pages_per_day=1, hours_per_day=24)  # one scene a day, in order
    rows = {r.character_id: r for r in day_out_of_days(days, {"mara": "Mara"})}
    assert rows["mara"].codes == ["SW", "W", "WF", ""]
    assert rows["tomas"].codes == ["SW", "H", "WF", ""]
    assert rows["crew"].codes == ["", "", "", "SWF"]
    assert (rows["tomas"].work_days, rows["tomas"].hold_days) == (2, 1)
    assert rows["mara"].name == "Mara" and rows["mara"].cast_number == 1
    assert rows["tomas"].cast_number == 2 and rows["crew"].name == "crew"


def test_of_two_in_every_scene_the_lead_is_number_one() -> None:
    # cast numbers follow scenes worked, then the analysis's order (the lead first), not ids
    strips = [strip(1, "A", cast=("clare", "tuck")), strip(2, "A", cast=("tuck", "clare", "dora"))]
    days = pack(strips, pages_per_day=5, hours_per_day=24)
    names = {"tuck": "Tuck", "clare": "Clare Ashworth", "dora": "Dora Finch"}
    assert [(r.cast_number, r.name) for r in day_out_of_days(days, names)] == [
        (1, "Tuck"), (2, "Clare Ashworth"), (3, "Dora Finch")]


def test_schedule_totals_say_how_they_were_computed() -> None:
    schedule = build_schedule([strip(1, "A", eighths=11), strip(2, "B", "NIGHT", eighths=3)],
                              pages_per_day=4, hours_per_day=10)
    assert schedule.shooting_days == 2 and schedule.total_eighths == 14
    assert schedule.total_pages == "1 6/8"
    assert "4 pages" in schedule.method and "10 camera hours" in schedule.method
    assert schedule.method.startswith("2 days: ") and "; 0 company moves within days" in (
        schedule.method)


def test_an_empty_schedule() -> None:
    schedule = build_schedule([])
    assert schedule.shooting_days == 0 and schedule.days == [] and schedule.day_out_of_days == []


def test_page_eighths_follow_screenplay_layout() -> None:
    assert format_eighths(11) == "1 3/8" and format_eighths(8) == "1"
    assert format_eighths(3) == "3/8" and format_eighths(0) == "0"
    assert page_eighths("") == 1  # a heading alone is still an eighth
    # 55 lines a page: a heading (2) and 53 one-line action paragraphs (2 lines each)
    assert screenplay_lines("\n".join(["She waits."] * 53)) == 2 + 53 * 2
    assert page_eighths("\n".join(["She waits."] * 53)) == 16  # 108 lines: 2 pages less a bit
    # a line of dialogue takes a cue line, its words at 35 a line, and a blank
    said = "Hold the lantern higher, Tomas, or we lose them both."  # 53 characters
    assert screenplay_lines(f'"{said}" she shouted.', [said]) == 2 + (1 + 2 + 1) + (1 + 1)
    # without the architect's lines, quoted passages count as dialogue
    assert screenplay_lines(f'"{said}" she shouted.') == screenplay_lines(
        f'"{said}" she shouted.', [said])


@pytest.mark.parametrize(("parse", "text", "value"), [
    (parse_size, "close-up", ShotSize.CU), (parse_size, "Extreme Close Up", ShotSize.ECU),
    (parse_size, "establishing", ShotSize.EWS), (parse_size, "medium close-up", ShotSize.MCU),
    (parse_size, "insert", ShotSize.INSERT), (parse_size, "wide", ShotSize.WS),
    (parse_size, "MWS", ShotSize.MWS), (parse_angle, "Dutch angle", Angle.DUTCH),
    (parse_angle, "low angle", Angle.LOW), (parse_angle, "POV", Angle.POV),
    (parse_movement, "slow push-in", Movement.PUSH_IN),
    (parse_movement, "dolly out", Movement.PULL_OUT),
    (parse_movement, "locked off", Movement.STATIC),
    (parse_support, "Steadicam", Support.STEADICAM_GIMBAL),
    (parse_support, "tripod", Support.STICKS), (parse_support, "jib arm", Support.CRANE_JIB),
    (parse_coverage, "OTS", Coverage.OVER_THE_SHOULDER),
    (parse_coverage, "reaction cutaway", Coverage.CUTAWAY),
    (parse_lens, "35mm spherical prime", 35), (parse_lens, 85, 85), (parse_lens, "50 mm", 50),
])
def test_vocabulary_maps_what_models_write(parse: object, text: object, value: object) -> None:
    assert parse(text) == value  # type: ignore[operator]


def test_vocabulary_refuses_what_it_cannot_place() -> None:
    with pytest.raises(ValueError, match="not one of"):
        parse_size("a lovely frame")
    with pytest.raises(ValueError, match="focal length"):
        parse_lens("wide-ish")
    with pytest.raises(ValueError, match="plausible"):
        parse_lens(2)
    assert parse_int_ext("I/E") is not None and parse_int_ext("nowhere") is None
    assert parse_day_night("late evening") is not None and parse_day_night("") is None
