#!/usr/bin/env bash
# Installs one harvester tool venv from its lock file: `setup_tool.sh udata|ckan`.
#
# Called by `make setup` (never by the tests, which only use what is installed). The venv lives
# in the checkout, at .venv-tools/<tool>/ (git-ignored), so two clones on one machine never share
# one. It is made with the Python given as $PYTHON (default: python3.11) and the uv of the
# project venv ($UV). A stamp holding the lock's checksum and the Python's version says the venv
# is complete: an interrupted install, a changed lock or another Python makes it again from
# nothing, never on top of a half-built venv.
set -euo pipefail
TOOL="${1:?usage: setup_tool.sh udata|ckan}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LOCK="$HERE/$TOOL.lock"
VENV="$ROOT/.venv-tools/$TOOL"
PY="$(command -v "${PYTHON:-python3.11}")" || { echo "setup_tool.sh: no Python ${PYTHON:-python3.11}" >&2; exit 2; }
UV="${UV:-$ROOT/.venv/bin/uv}"
[[ -f "$LOCK" ]] || { echo "setup_tool.sh: no lock file $LOCK" >&2; exit 2; }
[[ -x "$UV" ]] || { echo "setup_tool.sh: uv not found at $UV (run make setup)" >&2; exit 2; }
case "$TOOL" in
  udata) probe='import importlib.metadata as m, mongomock, requests_mock, udata.harvest.backends.dcat; assert m.version("udata") == "17.18.0"' ;;
  ckan) probe='import importlib.metadata as m, ckanext.dcat.harvesters.rdf; assert m.version("ckanext-dcat") == "2.4.4"' ;;
  *) echo "setup_tool.sh: unknown tool $TOOL (udata or ckan)" >&2; exit 2 ;;
esac

"$PY" -c 'import sys; assert sys.version_info >= (3, 11, 2), "the tools need Python >= 3.11.2"'
want="$(sha256sum "$LOCK" | cut -d' ' -f1) $("$PY" -c 'import platform, sys; print(platform.python_version(), sys.base_prefix)')"
if [[ -f "$VENV/.installed-stamp" && "$(cat "$VENV/.installed-stamp")" == "$want" ]]; then
  exit 0
fi
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$UV" venv --quiet --no-python-downloads --python "$PY" "$VENV"
"$UV" pip install --quiet --compile-bytecode --python "$VENV/bin/python" -r "$LOCK"
"$VENV/bin/python" -c "$probe" || { echo "setup_tool.sh: $TOOL installed but does not import" >&2; exit 1; }
echo "$want" > "$VENV/.installed-stamp"
