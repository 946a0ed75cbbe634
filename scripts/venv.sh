#!/usr/bin/env bash
# Create (once) a virtual environment keyed by the hash of what it installs, and print its path.
#   scripts/venv.sh rasa   -> Python 3.10 environment with Rasa Open Source and its test runner
#                             (requirements/rasa.txt, requirements/rasa-test.txt)
#   scripts/venv.sh app    -> Python 3.11 environment with the app and its test tools (pyproject.toml)
# Environments live under $TIERZERO_CACHE (default ~/.cache/tierzero) so a fresh clone on a set-up machine
# reuses them; a half-built environment is never used (a marker is written only after a clean install).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${TIERZERO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tierzero}"
mkdir -p "$cache"
kind="${1:?usage: scripts/venv.sh rasa|app}"

find_python() {
  local want="$1" candidate
  for candidate in "python$want" "$HOME/.pyenv/versions/$want"*/bin/python "$(command -v pyenv >/dev/null && pyenv root)/versions/$want"*/bin/python; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "error: Python $want is needed (try: pyenv install $want)" >&2
  return 1
}

case "$kind" in
  rasa) inputs=(requirements/rasa.txt requirements/rasa-test.txt); pyver=3.10 ;;
  app)  inputs=(requirements/app-first.txt requirements/app.txt requirements/test.txt); pyver=3.11 ;;
  *) echo "usage: scripts/venv.sh rasa|app" >&2; exit 2 ;;
esac
hash=$(cat "${inputs[@]}" | sha256sum | cut -c1-12)
venv="$cache/venv-$kind-$hash"
# One builder at a time (make run and make test may start together); the others wait, then reuse its work.
exec 9>"$venv.lock"
flock 9
if [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  python=$(find_python "$pyver")
  echo ">> creating the $kind environment in $venv (first run only; a few minutes)" >&2
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip >&2
  if [ "$kind" = rasa ]; then
    "$venv/bin/pip" install --quiet -r requirements/rasa.txt -r requirements/rasa-test.txt >&2
  else
    # CPU torch from the machine's local wheel first, so nothing pulls a multi-GB CUDA build.
    "$venv/bin/pip" install --quiet -r requirements/app-first.txt >&2
    "$venv/bin/pip" install --quiet -r requirements/app.txt -r requirements/test.txt >&2
  fi
  touch "$venv/.complete"
fi
echo "$venv"
