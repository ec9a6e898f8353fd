# Sourced by scripts/test, scripts/demo and scripts/bench.
#
# Makes sure .venv exists and holds this project (editable) with its dev extra. The
# install is redone only when pyproject.toml changes, so the second run starts at once.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.sfgw-installed"

find_python() {
    for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    if ! PY="$(find_python)"; then
        echo "error: Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)" >&2
        exit 1
    fi
    echo "==> creating $VENV with $PY"
    "$PY" -m venv "$VENV"
fi

WANT="$(cd "$ROOT" && "$VENV/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest())')"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "==> installing sfgw and its dev tools into .venv (first run takes a minute)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -e "$ROOT[dev]"
    echo "$WANT" > "$STAMP"
fi

export PATH="$VENV/bin:$PATH"
cd "$ROOT"
