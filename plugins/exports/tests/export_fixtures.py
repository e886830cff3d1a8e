"""The sample job record of the exports tests: two scenes of a story analysed by the architect
and planned by the director (breakdown, shots, a two-day schedule)."""

from __future__ import annotations

from typing import Any

STORY_1 = ("Rosa Amati unlocked the back door and switched on the ovens.\n\n"
           "\u201cYou're early,\u201d Rosa said. Theo shrugged off his coat.\n\n"
           "\u201cCouldn't sleep,\u201d Theo said.")
STORY_2 = 'The alley was wet. "Is that the crock?" Danny asked. Nobody answered him.'


def job(**over: Any) -> dict[str, Any]:
    architect = {
        "title": "The Last Shift", "logline": "A baker's last night.", "genre": "drama",
        "tone": "quiet", "themes": ["inheritance"],
        "characters": [{"id": "rosa-amati", "name": "Rosa Amati", "role": "protagonist",
                        "description": "<b>70</b>, floury hands", "arc": "lets go",
                        "relationships": [{"to": "Theo Lind", "kind": "mentor"}]},
                       {"id": "theo-lind", "name": "Theo Lind", "role": "supporting"}],
        "locations": [{"id": "the-kitchen", "name": "the kitchen", "description": "warm"}],
        "scenes": [
            {"id": "s001", "number": 1, "text": STORY_1, "int_ext": "INT", "day_night": "NIGHT",
             "story_day": 1, "location": "the kitchen", "characters": ["Rosa Amati", "Theo Lind"],
             "summary": "Rosa opens up; Theo arrives.",
             "dialogue": [{"speaker": "Rosa Amati", "line": "You're early,"},
                          {"speaker": "Theo Lind", "line": "Couldn't sleep,"}]},
            {"id": "s002", "number": 2, "text": STORY_2, "int_ext": "EXT", "day_night": "DAY",
             "story_day": 2, "location": "the alley", "characters": ["Danny"],
             "summary": "Danny in the alley.",
             "dialogue": [{"speaker": "Danny", "line": "Is that the crock?"}]},
        ],
        "model": {"ids": ["openai/x"], "offline": False},
    }
    director = {
        "scenes": [
            {"number": 1, "heading": "INT. THE KITCHEN - NIGHT", "page_eighths": 11,
             "breakdown": {"cast": ["rosa-amati", "theo-lind"], "props": ["crock", "key"],
                           "wardrobe": {"rosa-amati": "apron"}, "vehicles": [],
                           "continuity": ["flour on Rosa's sleeve"]},
             "shots": [{"number": 1, "size": "WS", "angle": "eye level", "movement": "static",
                        "support": "sticks", "lens_mm": 24, "subjects": ["rosa-amati"],
                        "coverage": "master", "estimated_duration_seconds": 6,
                        "description": "Rosa at the ovens"},
                       {"number": 2, "size": "CU", "lens_mm": 85, "subjects": ["theo-lind"],
                        "coverage": "single", "estimated_duration_seconds": 3}]},
            {"number": 2, "heading": "EXT. THE ALLEY - DAY", "page_eighths": 3,
             "breakdown": {"cast": ["danny"], "vehicles": ["bicycle"], "animals": ["a cat"]},
             "shots": [{"number": 1, "size": "EWS", "lens_mm": 18, "subjects": ["danny"],
                        "estimated_duration_seconds": 4}]},
        ],
        "schedule": {"days": [{"day": 1, "scenes": [{"scene": 2, "cast": ["danny"]}]},
                              {"day": 2, "scenes": [1]}]},
    }
    record = {"id": "job-1", "status": "succeeded",
              "result": {"architect": architect, "director": director}, "models_used": []}
    record.update(over)
    return record
