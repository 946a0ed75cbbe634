#!/usr/bin/env bash
# `make test`: create the environments if needed, lint, train the Rasa model once (cached by a hash of its inputs),
# check the Rasa extensions (bot/rasa_ext) against stock Rasa in the Rasa environment (tests/rasa), then run the
# whole test suite against the real components, on SQLite and again on PostgreSQL.
# Arguments go to pytest for the SQLite run only (e.g. `scripts/test.sh tests/kb -x`).
set -euo pipefail
cd "$(dirname "$0")/.."
app="$(scripts/venv.sh app)"
rasa="$(scripts/venv.sh rasa)"
export TIERZERO_RASA_BIN="$rasa/bin/rasa"
echo ">> lint"
"$app/bin/ruff" check .
"$app/bin/ruff" format --check .
echo ">> Rasa model"
model="$("$app/bin/python" -m api.cli train | tee /dev/stderr | tail -n 1)"
echo ">> Rasa extensions against stock Rasa (in the Rasa environment)"
TIERZERO_RASA_MODEL="$model" "$rasa/bin/python" -m pytest tests/rasa
echo ">> Chromium for the browser tests (Debian's package; nothing downloads a browser of its own)"
command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
echo ">> PostgreSQL server for the second pass (Debian's package)"
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq postgresql)
echo ">> tests on SQLite"
"$app/bin/python" -m pytest "$@"
if [ $# -eq 0 ]; then
  echo ">> tests on PostgreSQL (the browser and fuzz tests already ran above; they do not depend on the database)"
  "$app/bin/python" -m pytest --database postgresql tests/kb tests/handoff tests/api tests/privacy tests/e2e \
    --ignore=tests/api/test_fuzz.py
fi
