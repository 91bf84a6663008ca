#!/bin/sh
# Create or update the virtualenv that `make demo` / `make test` use, with the exact pins for
# the interpreter's version.  Called by the Makefile as:
#
#   sh tools/make_venv.sh PYTHON VENV explicit|default [exact|none]
#
# PYTHON is a command or path (`python3.12`); "explicit" when the user passed PYTHON=, "default"
# when it is the Makefile's `python3`. PINS=none (`make bench PINS=none`) uses an existing VENV as
# it is, e.g. one with CUDA builds of torch and DGL installed by hand (see the README's GPU recipe).
#
#   Python 3.11  -> constraints.txt        (dgl 1.1.3, torch 2.13.0 CPU build)
#   Python 3.12  -> constraints-py312.txt  (dgl 2.1.0, torch 2.2.1 + CUDA libraries: PyPI has nothing else)
#   anything else: no exact pin set. With the default `python3`, a supported interpreter found on
#   this machine is used instead (and named); with an explicit PYTHON=, stop with a message.
#
# A pyenv shim of an installed but unselected version (`python3.12` while pyenv's global is
# 3.11) is resolved with `pyenv which`. The install is skipped when VENV/.installed-stamp records
# the same interpreter version and the same setup.cfg, pyproject.toml and constraints file.
set -eu

PYTHON=$1
VENV=$2
MODE=$3
PINS=${4:-exact}
SUPPORTED="3.11 3.12"

# Path of the interpreter PYTHON names, or nothing.
resolve() {
    "$1" -c 'import sys; print(sys.executable)' 2>/dev/null && return 0
    if command -v pyenv >/dev/null 2>&1; then
        PYENV_VERSION=$(pyenv versions --bare 2>/dev/null | tr '\n' ':') pyenv which "$1" 2>/dev/null && return 0
    fi
    return 1
}

version_of() {
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

constraints_for() {
    case $1 in
        3.11) echo constraints.txt ;;
        3.12) echo constraints-py312.txt ;;
        *) return 1 ;;
    esac
}

# Interpreters of a supported version on this machine (PATH or pyenv), one "path version" a line.
found_supported() {
    for v in $SUPPORTED; do
        exe=$(resolve "python$v") || continue
        echo "$exe $v"
    done
}

fail() {
    echo "error: $*" >&2
    exit 2
}

if [ "$PINS" = none ]; then
    [ -x "$VENV/bin/python" ] || fail "PINS=none uses an existing environment, but $VENV/bin/python does not exist. \
Create it and install torch, DGL and this package first (README: On a GPU machine)."
    "$VENV/bin/python" -c 'import dgl_ma' 2>/dev/null || fail "PINS=none: dgl-ma is not installed in $VENV; \
run $VENV/bin/pip install -e '.[dev]' first."
    exit 0
fi

if [ -x "$VENV/bin/python" ]; then
    have=$(version_of "$VENV/bin/python")
    if [ "$MODE" = explicit ]; then
        exe=$(resolve "$PYTHON") || fail "PYTHON=$PYTHON does not run here."
        want=$(version_of "$exe")
        [ "$want" = "$have" ] || fail "$VENV was made with Python $have, but PYTHON=$PYTHON is Python $want. \
Run \`make clean-venv\` first, or keep both with a second folder: make demo PYTHON=$PYTHON VENV=.venv-$want"
    fi
    version=$have
else
    exe=$(resolve "$PYTHON") || fail "PYTHON=$PYTHON does not run here. Supported: Python 3.11 and 3.12; \
pass one with PYTHON=, e.g. make demo PYTHON=python3.12"
    version=$(version_of "$exe")
    if ! constraints_for "$version" >/dev/null; then
        others=$(found_supported)
        if [ "$MODE" = default ] && [ -n "$others" ]; then
            pick=$(echo "$others" | head -n 1)
            echo "note: $PYTHON is Python $version, which has no pinned DGL install (supported: 3.11 and 3.12); \
using Python ${pick#* } at ${pick% *} instead (pass PYTHON= to choose)." >&2
            exe=${pick% *}
            version=${pick#* }
        else
            where=$(echo "$others" | sed -n 's/^\(.*\) \(.*\)$/python\2 (\1)/p' | paste -sd, - | sed 's/,/, /g')
            fail "$PYTHON is Python $version. dgl-ma installs on Python 3.11 and 3.12 only: PyPI has DGL wheels \
for 3.12 at most (dgl 2.1.0) and none that import on 3.13 or newer; 3.9 and 3.10 have no pinned set. \
${where:+Found here: $where; }run e.g. make demo PYTHON=python3.12"
        fi
    fi
    echo "creating $VENV with Python $version ($exe)" >&2
    "$exe" -m venv "$VENV"
fi

constraints=$(constraints_for "$version") || fail "$VENV has Python $version, which has no pinned set \
(supported: 3.11 and 3.12). Run \`make clean-venv\` and pass PYTHON=python3.12 or python3.11."
# DGL 2.1 imports pydantic without declaring it.
extra=""
[ "$version" = 3.12 ] && extra=pydantic

stamp="$VENV/.installed-stamp"
want_stamp="python $version; $(cat setup.cfg pyproject.toml "$constraints" | cksum)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ]; then
    exit 0
fi
echo "installing dgl-ma into $VENV with the pins of $constraints" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c "$constraints" -e '.[dev]' $extra
echo "$want_stamp" > "$stamp"
