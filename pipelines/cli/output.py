"""Command: how ``ogp`` writes for people, on a terminal and off one (cron, CI, a log file).

Off a terminal rich would wrap and cut at 80 columns: lines are written whole instead (soft
wrap) and tables as one record per line (see :func:`show`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
console.soft_wrap = not console.is_terminal
errors = Console(stderr=True)
errors.soft_wrap = not errors.is_terminal

LEVELS_FR = {"major": "majeure", "minor": "mineure", "patch": "corrective"}


def show(out: Console, title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Prints a table: drawn on a terminal; elsewhere one record per line, nothing cut.

    A drawn table fits its cells to the terminal's width and ends long names with « … »;
    written to a file it would cut identifiers a steward greps for. Off a terminal, each row
    is one line of ``En-tête : valeur`` pairs, in full, empty cells left out."""
    if out.is_terminal:
        table = Table(*headers, title=title)
        for row in rows:
            table.add_row(*row)
        out.print(table)
        return
    out.print(title, highlight=False, markup=False)
    for row in rows:
        pairs = [f"{h} : {v}" for h, v in zip(headers, row, strict=True) if v]
        out.print("  " + " | ".join(pairs), highlight=False, markup=False)


def say(text: str, out: Console = console) -> None:
    """One line for people, as written: no rich markup or highlighting read into it (file
    names and messages hold brackets)."""
    out.print(text, highlight=False, markup=False)


class ProgressDisplay:
    """One rich progress bar per dataset, advanced by the flows' steps (terminal only)."""

    STEPS = ("collecte", "publication", "terminé")

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[step]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.tasks: dict[str, Any] = {}

    def __call__(self, dataset: str, step: str) -> None:
        if dataset not in self.tasks:
            self.tasks[dataset] = self.progress.add_task(dataset, total=len(self.STEPS), step=step)
        position = self.STEPS.index(step) + 1 if step in self.STEPS else 0
        self.progress.update(self.tasks[dataset], completed=position, step=step)
