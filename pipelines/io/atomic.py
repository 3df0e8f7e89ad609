"""I/O: files that are either whole or absent.

Every file the pipeline writes goes through a temporary name in the same folder, is
fsynced, then replaces its target in one ``os.replace``: a crash leaves the old file or
the new one, never half of one. Both helpers pass failpoints (``pipelines.io.failpoints``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipelines.io import failpoints


def _replace(temporary: Path, path: Path) -> None:
    failpoints.reached(f"write-temp:{path.name}")
    os.replace(temporary, path)
    failpoints.reached(f"write:{path.name}")


TEMPORARY = ".*.tmp-*"


def remove_stale_temporaries(folder: Path, *, skip: tuple[str, ...] = ()) -> list[Path]:
    """Removes the temporary files of writes that never finished under ``folder`` (a process
    killed between writing and renaming). Only for a caller holding the folder's lock: then
    no write is under way; ``skip`` names files written under another lock, whose
    temporaries are left alone. Returns what was removed."""
    removed = []
    for path in sorted(folder.rglob(TEMPORARY)):
        if path.is_file() and not any(path.name.startswith(f".{name}.tmp-") for name in skip):
            path.unlink()
            removed.append(path)
    return removed


def write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    _replace(temporary, path)


def copy_atomically(source: Path, path: Path) -> None:
    """A copy streamed from ``source`` (never read whole into memory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(source, "rb") as reader, open(temporary, "wb") as writer:
        shutil.copyfileobj(reader, writer, 2**20)
        writer.flush()
        os.fsync(writer.fileno())
    _replace(temporary, path)
