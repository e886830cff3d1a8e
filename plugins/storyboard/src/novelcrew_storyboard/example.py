"""A small analysis and plan (the architect's and director's result shapes) for examples.

The shapes are the ones the architect and director write (ids, ``size``, ``lens_mm``,
``subjects``, breakdown items per character); ``source.py`` also reads older ones.

``GET /crews/storyboard`` shows it as the crew's example inputs, and the SDK's contract check
runs the crew on it, so the crew can be tried without running the two crews before it.
"""

from __future__ import annotations

from typing import Any

EXAMPLE_PREVIOUS: dict[str, Any] = {
    "architect": {
        "title": "The Lighthouse Keeper",
        "language": "English",
        "genre": "drama",
        "tone": "austere, tender",
        "characters": [
            {"id": "mara-vell", "name": "Mara Vell", "aliases": ["Mara"],
             "role": "protagonist",
             "description": "Keeper of the Gannet Point light for eleven years, in her forties, "
                            "wiry, with grey-streaked dark hair and a scar across her left palm.",
             "arc": "From resignation to defiance."},
            {"id": "tomas-vell", "name": "Tomas Vell", "aliases": ["Tomas"],
             "role": "supporting",
             "description": "Mara's younger brother, a broad-shouldered fisherman with a red "
                            "beard who jokes to hide worry.", "arc": ""},
        ],
        "locations": [
            {"id": "keepers-kitchen", "name": "Keeper's Kitchen",
             "description": "A cramped stone kitchen at the foot of the tower.",
             "atmosphere": "warm lamplight against the dark"},
            {"id": "gannet-point-rocks", "name": "Gannet Point Rocks",
             "description": "Black rocks under the lighthouse, surf breaking white.",
             "atmosphere": "violent, wet, roaring"},
        ],
        "scenes": [
            {"id": "s001", "number": 1, "int_ext": "INT", "day_night": "NIGHT",
             "story_day": 1, "location": "Keeper's Kitchen", "location_id": "keepers-kitchen",
             "characters": ["Mara Vell"], "character_ids": ["mara-vell"],
             "summary": "Mara reads the letter announcing the light's automation.",
             "text": "Mara Vell read the letter twice at the kitchen table while the lamp "
                     "turned above her. \"They are automating the light,\" she said to no one.",
             "dialogue": [{"speaker": "Mara Vell", "line": "They are automating the light."}],
             "objects": ["the letter"]},
            {"id": "s002", "number": 2, "int_ext": "EXT", "day_night": "NIGHT",
             "story_day": 1, "location": "Gannet Point Rocks",
             "location_id": "gannet-point-rocks", "characters": ["Mara Vell", "Tomas Vell"],
             "character_ids": ["mara-vell", "tomas-vell"],
             "summary": "A storm drives a boat onto the rocks; Mara climbs down with a rope.",
             "text": "The storm drove a fishing boat onto the rocks below the tower. Mara "
                     "climbed down with a rope while Tomas held the lantern high.",
             "dialogue": [{"speaker": "Mara Vell", "line": "Hold the lantern higher!"}],
             "objects": ["rope", "storm lantern"]},
        ],
    },
    "director": {
        "title": "The Lighthouse Keeper",
        "scenes": [
            {"number": 1, "id": "s001", "heading": "INT. KEEPER'S KITCHEN - NIGHT",
             "location": "Keeper's Kitchen", "location_id": "keepers-kitchen",
             "int_ext": "INT", "day_night": "NIGHT", "story_day": 1,
             "characters": ["mara-vell"],
             "mood": "quiet dread", "lighting": "low-key practical lamplight",
             "palette": ["slate blue", "amber"],
             "breakdown": {"cast": ["mara-vell"],
                           "wardrobe": [{"item": "grey wool jumper", "character": "mara-vell",
                                         "suggested": True},
                                        {"item": "oilskin on the chair",
                                         "character": "mara-vell", "suggested": True}]},
             "shots": [
                 {"number": 1, "size": "WS", "angle": "high", "movement": "static",
                  "support": "sticks", "lens_mm": 24, "subjects": ["mara-vell"],
                  "coverage": "master", "estimated_duration_seconds": 6,
                  "notes": "Mara alone at the table, the beam sweeping the window."},
                 {"number": 2, "size": "CU", "angle": "eye level", "movement": "push in",
                  "support": "dolly", "lens_mm": 85, "subjects": ["mara-vell"],
                  "coverage": "single", "estimated_duration_seconds": 12,
                  "notes": "Mara reads the letter a second time."},
             ]},
            {"number": 2, "id": "s002", "heading": "EXT. GANNET POINT ROCKS - NIGHT",
             "location": "Gannet Point Rocks", "location_id": "gannet-point-rocks",
             "int_ext": "EXT", "day_night": "NIGHT", "story_day": 1,
             "characters": ["mara-vell", "tomas-vell"],
             "mood": "terror turning to resolve", "lighting": "storm dark, lantern key light",
             "palette": ["black", "bone white", "amber"],
             "breakdown": {"cast": ["mara-vell", "tomas-vell"],
                           "wardrobe": [{"item": "yellow oilskin", "character": "mara-vell"},
                                        {"item": "fisherman's smock",
                                         "character": "tomas-vell"}]},
             "shots": [
                 {"number": 1, "size": "EWS", "angle": "low", "movement": "crane",
                  "support": "crane/jib", "lens_mm": 18,
                  "subjects": ["mara-vell", "tomas-vell"], "coverage": "master",
                  "estimated_duration_seconds": 8,
                  "notes": "The boat on the rocks, two figures on the cliff path."},
                 {"number": 2, "size": "INSERT", "angle": "overhead", "movement": "static",
                  "support": "sticks", "lens_mm": 100, "subjects": [], "coverage": "insert",
                  "estimated_duration_seconds": 2, "notes": "The rope pays out over wet stone."},
             ]},
        ],
    },
}
