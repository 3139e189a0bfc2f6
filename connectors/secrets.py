"""Keep API keys out of every message: mask known keys and anything shaped like one."""

from __future__ import annotations

import re

_KEY_SHAPE = re.compile(r"\b((?:sk|rk|pk|whsec)_(?:live|test)_)[A-Za-z0-9]{6,}")


def mask_key(key: str) -> str:
    """Show a key as `sk_live_…abcd`: enough to recognise, never enough to use."""
    if not key:
        return "(empty)"
    prefix = key.rsplit("_", 1)[0] + "_" if "_" in key[:12] else ""
    return f"{prefix}…{key[-4:]}" if len(key) > 8 else "…"


def redact(text: str, *keys: str) -> str:
    """The text with the given keys and any key-shaped token masked."""
    for key in keys:
        if key and len(key) >= 8:
            text = text.replace(key, mask_key(key))
    return _KEY_SHAPE.sub(lambda m: mask_key(m.group(0)), text)
