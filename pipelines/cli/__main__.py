"""Command: ``python -m pipelines.cli``, the same as ``ogp``."""

from pipelines.cli import app

app()
