"""Which code computed a stored figure: a digest of kpitui's and the connectors' modules, so that results stored
by other code (an upgrade, or a `git pull` of an editable install, which keeps the version number) are computed
again, never reused."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path


def digest_of(packages: Iterable[Path]) -> str:
    """A digest of every Python module under the directories, by path and content."""
    digest = hashlib.sha256()
    for package in packages:
        for path in sorted(package.rglob("*.py")):
            digest.update(path.relative_to(package).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@functools.cache
def code_digest() -> str:
    """The digest of the kpitui and connectors modules this process runs (read once)."""
    import connectors

    return digest_of([Path(__file__).parent, Path(connectors.__file__).parent])
