# The two commands: `make run` starts everything; `make test` runs every check. Both set up what they need.
.PHONY: run test lint
run:
	./tierzero run

test:
	scripts/test.sh

lint:
	"$$(scripts/venv.sh app)/bin/ruff" check . && "$$(scripts/venv.sh app)/bin/ruff" format --check .
