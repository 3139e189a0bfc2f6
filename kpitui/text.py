"""Make untrusted text safe to show: no escape sequences, control or bidi-override characters."""

from __future__ import annotations

import re

_ESCAPES = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC … BEL/ST (links, clipboard writes, titles)
    r"|\x1b[P^_X][^\x1b]*(?:\x1b\\)?"  # DCS, PM, APC, SOS strings
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI (colours, cursor moves)
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean(text: object, *, single_line: bool = True, limit: int = 500) -> str:
    """Strip escapes and control characters; fold newlines and tabs to spaces; cap the length."""
    value = _ESCAPES.sub("", str(text))
    if single_line:
        value = value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")
    else:
        value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    value = _CONTROLS.sub("", value)
    return value if len(value) <= limit else value[: limit - 1] + "…"
