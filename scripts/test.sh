#!/usr/bin/env bash
# `make test`: create the environments if needed, lint, train the Rasa model once (cached by a hash of its inputs),
# then run the whole test suite against the real components.
set -euo pipefail
cd "$(dirname "$0")/.."
app="$(scripts/venv.sh app)"
rasa="$(scripts/venv.sh rasa)"
export TIERZERO_RASA_BIN="$rasa/bin/rasa"
echo ">> lint"
"$app/bin/ruff" check .
"$app/bin/ruff" format --check .
echo ">> Rasa model"
"$app/bin/python" -m api.cli train
echo ">> Chromium for the browser tests (Debian's package; nothing downloads a browser of its own)"
command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
echo ">> tests"
exec "$app/bin/python" -m pytest "$@"
