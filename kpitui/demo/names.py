"""Deterministic fake company and person names for demo data."""

from __future__ import annotations

import random

_FIRST = (
    "Acme Globex Initech Umbrella Hooli Vandelay Stark Wayne Wonka Tyrell Soylent Cyberdyne Aperture "
    "Massive Dynamic Pied Piper Gringotts Monarch Oscorp Virtucon Nakatomi Prestige Blue Sun Wernham "
    "Dunder Bluth Krusty Sterling Gekko Duff Oceanic Rekall Yoyodyne Tessier Zorg"
).split()
_SECOND = (
    "Labs Systems Analytics Cloud Software Works Digital Logistics Health Foods Studio Partners Robotics "
    "Media Data Energy Capital Networks Bio Games"
).split()
_PEOPLE = (
    "Ava Ben Chloé Dev Emma Farid Grace Hiro Inès Jonas Kai Lena Mateo Nora Omar Priya Quinn Rosa Sven "
    "Tomás Uma Vik Wen Ximena Yusuf Zoë"
).split()


def company(rng: random.Random) -> str:
    """A company name like 'Globex Analytics'."""
    return f"{rng.choice(_FIRST)} {rng.choice(_SECOND)}"


def person(rng: random.Random) -> str:
    """A first name."""
    return rng.choice(_PEOPLE)
