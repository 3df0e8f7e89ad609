"""I/O: Jinja's compiled templates kept between processes.

Compiling the site's templates is a large part of an unchanged ``ogp run`` (about a third
of a second here). Jinja's own file cache keeps each template's compiled code in the
user's temporary folder, keyed by its name and checked against its source's checksum: a
changed template is compiled again, and what is rendered is the same with or without the
cache. A cache that cannot be read or written is skipped, never an error.
"""

from __future__ import annotations

import jinja2
from jinja2.bccache import Bucket


class QuietCache(jinja2.FileSystemBytecodeCache):
    """``FileSystemBytecodeCache`` whose I/O failures mean "not cached"."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError):
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass  # compiled again next time


def template_cache() -> jinja2.BytecodeCache | None:
    """The cache for an environment's ``bytecode_cache``; ``None`` without a usable
    temporary folder (every template compiled, as without a cache)."""
    try:
        return QuietCache()
    except (OSError, RuntimeError):
        return None
