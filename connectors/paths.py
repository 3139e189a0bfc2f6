"""Which files a source's `path` names, and their signatures (what changes when a file does)."""

from __future__ import annotations

import glob
from pathlib import Path

from connectors.base import ConnectorError

FileSignature = tuple[str, int, int, int, int]  # path, size, inode, modification and change times (ns)


def expand_path(pattern: str) -> list[Path]:
    """Expand `~` and a glob into a stable, sorted list of files."""
    expanded = str(Path(pattern).expanduser())
    if any(ch in expanded for ch in "*?["):
        matches = sorted(Path(p) for p in glob.glob(expanded, recursive=True))
        files = [p for p in matches if p.is_file()]
        if not files:
            raise ConnectorError(f"{pattern}: the pattern matches no file; check the path")
        return files
    path = Path(expanded)
    if not path.exists():
        raise ConnectorError(f"{pattern}: no such file; check the path in the config")
    if path.is_dir():
        raise ConnectorError(f"{pattern}: is a directory; give a file or a glob like {pattern}/*.csv")
    return [path]


def file_signatures(pattern: str) -> tuple[FileSignature, ...]:
    """Each matched file's signature: while they stay the same, so does the data."""
    signatures = []
    for path in expand_path(pattern):
        try:
            stat = path.stat()
        except OSError as exc:
            raise ConnectorError(f"{path}: cannot be read ({exc.__class__.__name__})") from None
        signatures.append((str(path), stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns))
    return tuple(signatures)
