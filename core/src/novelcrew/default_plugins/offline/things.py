"""The things a story's narration puts on set, for the ``offline`` model's props.

A props master reads a script for what is handled, carried, eaten and looked at: "the calving
ropes", "a torch", "the reservation book", "the brown butter". Counting which nouns a story
repeats after "the" found walls, windows, ribs and lights instead, so the stand-in now reads
nouns of things from a lexicon, as its narration words them: the noun with the one word before
it that names its kind ("head torch", "wine list", "copper pan"), never a word of quoted
speech (the jack someone asks for is not yet in the scene).
"""

from __future__ import annotations

import re
from collections import Counter


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: portable things, food and fixtures a scene can show and a props master would source
_NOUNS = """
    knife knives fork forks spoon spoons ladle whisk pan pans pot pots kettle teapot teacup cup
    cups mug mugs glass glasses tumbler bottle bottles flask thermos jar jars tin tins crock
    bowl bowls plate plates dish dishes tray trays jug jugs basket baskets bucket buckets box
    boxes crate crates sack sacks bag bags holdall rucksack suitcase case briefcase envelope
    envelopes letter letters note notes card cards ticket tickets list menu book books ledger
    notebook notebooks diary folder file files newspaper paper papers map maps photograph
    photographs photo photos pen pens pencil pencils chalk clipboard chalkboard phone phones
    radio camera binoculars scope telescope tripod torch torches lamp lamps lantern lanterns
    candle candles matches lighter cigarette cigarettes pipe  clock  necklace locket
    keys key umbrella stick sticks cane crutch rope ropes chain chains blanket blankets towel
    towels cloth cloths apron rag sheet pillow cushion jack spanner wrench hammer  axe
    chainsaw spade shovel shears secateurs ladder hose drum drums barrel barrels coffin wreath
    flowers bouquet trophy darts dart dartboard medal cheque coins coin till wallet purse
    rosary bible hymnbook prayer-book syringe needle drip stethoscope bandage thermometer
    gun rifle shotgun pistol whistle bell tape wax glue nails scissors razor comb mirror
    brush broom mop cigar pint pints beer wine whisky tea coffee toast bread loaf loaves
    rolls cake cakes biscuit biscuits sandwiches soup stew butter cheese eggs egg soufflé
    oven ovens turbot fish lamb chicken steak sauce starter dough flour sugar salt milk colostrum
    shortbread scones jam marmalade halter harness saddle bridle collar leash quant oar
    oars net nets lifejacket lifebelt flare flares buoy tarpaulin tent stove heater
    radiator television telly laptop computer printer typewriter microphone banner sign
    signs poster noticeboard lectern podium easel canvas guitar fiddle piano accordion
    trumpet drumkit ball bat racket helmet goggles gloves knapsack satchel parcel package
     gift seed seeds rootstocks scion scions grafts grafting-knife secateur
"""
#: what a picture-vehicle coordinator or a wrangler books: key objects of a story too (Clare's
#: motorbike, the punt, the geese), which the director's breakdown files under its own heads
_VEHICLES_AND_ANIMALS = """
    car cars van vans lorry lorries truck trucks tractor tractors trailer trailers motorbike
    motorbikes motorcycle bicycle bicycles bike bikes scooter boat boats punt punts ferry dinghy
    canoe bus minibus taxi train tanker ambulance cart caravan helicopter yacht lifeboat
    dog dogs cat cats cow cows calf calves heifer heifers bull bullock sheep ewe ewes horse
    horses pony ponies foal donkey goat goats pig pigs hen hens chickens goose geese duck
    ducks collie sheepdog greyhound lurcher terrier spaniel puppy kitten owl eagle eagles seal
    seals gull gulls rabbit rabbits fox
"""
NOUNS = _words(_NOUNS) | _words(_VEHICLES_AND_ANIMALS)
#: what turns the noun before it into a place or a trip: "the car park", "the bus stop"
_NOT_THINGS_AFTER = _words("park parks stop station shelter ride journey fare wash racing")
#: words that stand before a thing's noun without naming its kind
_NOT_KIND = _words("""
    the a an his her their its my our your some any two three four five both each every this
    that these those one other same own only first last next whole old new little big small
    large great long short empty full half few many more most such very and or of with in on
    entire cold hot warm soft
    at by to for from into onto over under back up down out off no not
""")
_DETERMINERS = _words("the a an his her their its my our your some")
_SPOKEN = re.compile(r"\"[^\"\n]*\"|\u201c[^\u201d\n]*\u201d")
_LIKE = re.compile(r"\b(?:like|as|than)(?: (?:a|an|the|some))?(?: [a-z-]+)?$")
_TOKEN = re.compile(r"[A-Za-z\u00c0-\u024f][\w'\u2019\u00e9-]*|[^\w\s]")


def _kind(noun: str) -> str:
    """One key for a noun's singular and plural: "ropes" and "rope", "knives" and "knife"."""
    if noun.endswith("ves") and noun[:-3] + "fe" in NOUNS:
        return noun[:-3] + "fe"
    if noun.endswith(("ches", "shes", "xes", "sses")):
        return noun[:-2]
    return noun[:-1] if noun.endswith("s") and noun[:-1] in NOUNS else noun


def _described(before: list[str]) -> str | None:
    """The word that names a thing's kind ("calving" of "the calving ropes"): the word just
    before the noun, itself after a determiner or a possessive, so "sucking colostrum" and
    "tipped the pan" give none."""
    if len(before) < 2:
        return None
    word, det = before[-1], before[-2].lower()
    if not word.isalpha() or not word.islower() or word in _NOT_KIND or word.endswith("ly"):
        return None
    return word if det in _DETERMINERS or det.endswith(("'s", "\u2019s")) else None


def things(text: str) -> list[str]:
    """Each thing the narration of ``text`` names, once per kind, most named first, as it is
    worded at its most specific ("calving ropes" over "ropes")."""
    tokens = _TOKEN.findall(_SPOKEN.sub(" . ", text))
    counts: Counter[str] = Counter()
    worded: dict[str, str] = {}
    for at, token in enumerate(tokens):
        if token not in NOUNS:
            continue
        if at + 1 < len(tokens) and (tokens[at + 1] in NOUNS
                                     or tokens[at + 1] in _NOT_THINGS_AFTER):
            continue  # "the tea towel": the towel is the thing; "the car park" is none
        if _LIKE.search(" ".join(tokens[max(0, at - 3):at])):
            continue  # "white as a sheet", "like a hot-water bottle": only compared to
        key = _kind(token)
        counts[key] += 1
        kind = _described(tokens[max(0, at - 2):at])
        if kind:  # "calving ropes", "biscuit tin"
            worded[key] = worded[key] if " " in worded.get(key, "") else f"{kind} {token}"
        else:
            worded.setdefault(key, token)
    return [worded[key] for key, _ in counts.most_common()]


def things_in(passage: str, story: list[str]) -> list[str]:
    """The things ``passage`` shows, in the order of the story's list ``story`` (its most
    named first, then the passage's own), worded as the story words the same kind where the
    passage has its noun as the story has it (a scene's "ropes" are the story's "calving
    ropes"; its "lantern" is not the story's "lanterns")."""
    rank = {_kind(t.split()[-1]): (at, t) for at, t in enumerate(story)}
    low = passage.lower()
    here = [(rank.get(_kind(t.split()[-1]), (len(story), t)), t) for t in things(passage)]
    here.sort(key=lambda ranked: ranked[0][0])  # the story's key things first: the crock
    return [same if re.search(rf"\b{re.escape((same := mine[1]).split()[-1])}\b", low) else t
            for mine, t in here]
