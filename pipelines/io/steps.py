"""I/O: progress of a run as it goes, for whoever watches (the ``ogp`` command).

Flows call ``step``/``done``; nothing is shown unless a watcher is installed, so flows run
by a Prefect worker or in tests stay quiet. The CLI installs a rich progress display
only when its output is a terminal.
"""

from __future__ import annotations

from collections.abc import Callable

Watcher = Callable[[str, str], None]
_watchers: list[Watcher] = []


def watch(watcher: Watcher) -> None:
    _watchers.append(watcher)


def unwatch(watcher: Watcher) -> None:
    if watcher in _watchers:
        _watchers.remove(watcher)


def step(dataset: str, name: str) -> None:
    for watcher in list(_watchers):
        watcher(dataset, name)


def done(dataset: str) -> None:
    step(dataset, "terminé")
