"""State: what a dataset's version is made from, as one checksum computed without parsing anything.

A rerun whose inputs have the checksum recorded by the served version has nothing new to
publish: it stops before reading the data (``publish.run.release_datasets``). The checksum covers the
source files, the schemas of the published tables, the dataset's definition, the plan a
table refers to and the pipeline's own version, so that a change to any of them rebuilds.
Progress datasets fed by submissions are not covered: their inputs are what the
collection receives, which only running it can tell.
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import metadata
from pathlib import Path

from pipelines.core.config import (
    DatasetConfig,
    Settings,
    SourceSnapshot,
    TableFileSource,
)


@functools.lru_cache(maxsize=64)
def _sha256_of(path: Path, size: int, modified: int, inode: int) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def sha256_file(path: Path) -> str:
    """The file's sha256, computed once per process while the file is unchanged."""
    facts = path.stat()
    return _sha256_of(path.resolve(), facts.st_size, facts.st_mtime_ns, facts.st_ino)


def _source_files(config: DatasetConfig) -> list[Path]:
    source = config.source
    if isinstance(source, TableFileSource):
        return [config.resolve(source.path)]
    assert isinstance(source, SourceSnapshot)
    files = [config.resolve(source.path)]
    if config.reference is not None:
        files += [
            config.resolve(config.reference.organisations),
            config.resolve(config.reference.ambition_heading_variants),
        ]
        if config.reference.targets is not None:
            files.append(config.resolve(config.reference.targets))
    return files


def file_stamps(config: DatasetConfig) -> tuple[tuple[str, int, int], ...]:
    """Path, size and modification time of the files a dataset is gathered from: a cheap
    key for what is derived from them within one process."""
    paths = [config.directory / "dataset.yaml", *_source_files(config)]
    stats = [(p, p.stat()) for p in paths if p.is_file()]
    return tuple((str(p.resolve()), facts.st_size, facts.st_mtime_ns) for p, facts in stats)


def input_fingerprint(config: DatasetConfig, settings: Settings) -> str | None:
    """The checksum of everything this dataset's next version would be made from."""
    if not isinstance(config.source, (SourceSnapshot, TableFileSource)):
        return None
    parts: dict[str, str] = {
        "definition": sha256_file(config.directory / "dataset.yaml"),
        "pipeline": metadata.version("ogp-pipeline"),
        **{f"source:{p.name}": sha256_file(p) for p in _source_files(config) if p.is_file()},
        **{f"schema:{t}": sha256_file(settings.schemas_dir / f"{t}.json") for t in config.tables},
    }
    plan = getattr(config.source, "plan", None)
    if plan:
        parts["plan"] = sha256_file(config.directory.parent / plan / "dataset.yaml")
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
