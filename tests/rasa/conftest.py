"""bot/rasa_ext against stock Rasa, in the Rasa environment (see pytest.ini here for how the run is started).

Each extension's function is compared with the Rasa function it replaces, both called directly. Tests that install
extensions (`apply()`, bot.server, a test putting one in place) have Rasa's own attributes put back afterwards, so
every test starts from stock Rasa.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain

import bot.rasa_ext

ROOT = Path(__file__).resolve().parents[2]
MODEL_VARIABLE = "TIERZERO_RASA_MODEL"

PATCHES = bot.rasa_ext.patches()  # imports every extension module; nothing is installed yet
STOCK = {(owner, attribute): vars(owner)[attribute] for owner, attribute, _ in PATCHES}


@pytest.fixture(autouse=True)
def _stock_rasa_afterwards():
    yield
    for (owner, attribute), stock in STOCK.items():
        setattr(owner, attribute, stock)


@pytest.fixture
def stock():
    """Rasa's own attributes that the extensions replace: {(owner, attribute name): Rasa's value}."""
    return STOCK


@pytest.fixture(scope="session")
def domain() -> Domain:
    return Domain.load(ROOT / "bot" / "domain.yml")


@pytest.fixture(scope="session")
def model_path() -> str:
    """The trained model, named by TIERZERO_RASA_MODEL (this environment cannot train it: api/rasa_model.py runs in
    the app's)."""
    path = os.environ.get(MODEL_VARIABLE, "")
    if not path or not Path(path).is_file():
        pytest.fail(
            f"{MODEL_VARIABLE}={path!r} does not name the trained Rasa model. scripts/test.sh sets it; by hand: "
            f'export {MODEL_VARIABLE}="$(TIERZERO_RASA_BIN="$(scripts/venv.sh rasa)/bin/rasa" '
            '"$(scripts/venv.sh app)/bin/python" -m api.cli train | tail -n 1)"',
            pytrace=False,
        )
    return path
