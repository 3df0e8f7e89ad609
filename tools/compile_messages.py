"""Compiles a gettext catalogue (.po) into the binary form Python's gettext reads (.mo).

The standard library reads .mo files but ships no compiler (msgfmt is a separate tool):
this is the small part of msgfmt the project needs: msgid / msgid_plural / msgstr /
msgstr[N] entries, strings on one or several lines, the header entry.

    python -m tools.compile_messages pipelines/locale/fr/LC_MESSAGES/messages.po
"""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path


def parse_po(text: str) -> dict[str, str]:
    """msgid (``singular\\0plural`` for a plural entry) → translation (forms joined by NUL)."""
    entries: dict[str, str] = {}
    current: dict[str, list[str]] = {}
    key = ""

    def flush() -> None:
        if "msgid" in current:
            msgid = "".join(current["msgid"])
            if "msgid_plural" in current:
                msgid += "\0" + "".join(current["msgid_plural"])
                forms = sorted(k for k in current if k.startswith("msgstr["))
                entries[msgid] = "\0".join("".join(current[k]) for k in forms)
            else:
                entries[msgid] = "".join(current.get("msgstr", []))
        current.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            current[key].append(ast.literal_eval(line))
            continue
        word, _, rest = line.partition(" ")
        if word == "msgid" and "msgid" in current:
            flush()
        key = word
        current[key] = [ast.literal_eval(rest)]
    flush()
    return entries


def mo_bytes(entries: dict[str, str]) -> bytes:
    """The GNU .mo layout: a header, the two tables of (length, offset), then the strings."""
    keys = sorted(entries)
    ids = [k.encode("utf-8") for k in keys]
    strs = [entries[k].encode("utf-8") for k in keys]
    count = len(keys)
    start = 7 * 4 + 16 * count  # header + both tables
    offsets, data = [], b""
    for blob in ids:
        offsets.append((len(blob), start + len(data)))
        data += blob + b"\0"
    translations = []
    for blob in strs:
        translations.append((len(blob), start + len(data)))
        data += blob + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, count, 7 * 4, 7 * 4 + 8 * count, 0, 0)
    tables = b"".join(struct.pack("<2I", *pair) for pair in offsets + translations)
    return header + tables + data


def compile_po(path: Path) -> Path:
    target = path.with_suffix(".mo")
    target.write_bytes(mo_bytes(parse_po(path.read_text(encoding="utf-8"))))
    return target


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print(compile_po(Path(argument)))
