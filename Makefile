# The two commands: `make run` starts everything; `make test` runs every check. Both set up what they need.
.PHONY: run test lint
run:  # the demo page's signed-in example too (TIERZERO_DEMO_CUSTOMER=false leaves it off)
	TIERZERO_DEMO_CUSTOMER=$${TIERZERO_DEMO_CUSTOMER:-true} ./tierzero run

test:
	scripts/test.sh

lint:
	"$$(scripts/venv.sh app)/bin/ruff" check . && "$$(scripts/venv.sh app)/bin/ruff" format --check .
