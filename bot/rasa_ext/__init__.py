"""Tier Zero's extensions to Rasa's internals, installed in the Rasa server's process by `apply()`.

Each module replaces one piece of Rasa with one that does less work for the same result; its docstring says what
Rasa does, what the replacement changes and why the result is the same, and tests/rasa checks each one against
stock Rasa in the Rasa environment. The measurements behind them are in bench/results/load.md.

They replace private attributes of Rasa (methods and module functions that are not its public API), so they hold
only for the Rasa version they were checked against, `CHECKED_AGAINST`: `apply()` refuses any other. The setting
`TIERZERO_RASA_EXTENSIONS=off` (read by bot/server.py) runs stock Rasa instead, to compare the two or to run
another Rasa version until the extensions are checked against it.

Each extension module declares `PATCHES`: (owner, attribute, replacement) triples, owner being a class or module
of Rasa's. Nothing is replaced on import; only `apply()` installs them.
"""

from __future__ import annotations

import importlib
from typing import Any

CHECKED_AGAINST = "3.6.21"
SETTING = "TIERZERO_RASA_EXTENSIONS"

# Installed in this order; each is independent of the others.
EXTENSIONS = ("validator", "action_call", "sessions", "freeze", "states", "graph")

Patch = tuple[Any, str, Any]


class UnsupportedRasaVersion(RuntimeError):
    """The installed Rasa is not the version the extensions were checked against."""


def check_version(installed: str) -> None:
    """Raise `UnsupportedRasaVersion`, saying what to do, unless `installed` is `CHECKED_AGAINST`."""
    if installed != CHECKED_AGAINST:
        raise UnsupportedRasaVersion(
            f"Tier Zero's Rasa extensions (bot/rasa_ext) are checked against Rasa {CHECKED_AGAINST}, but Rasa "
            f"{installed} is installed. Install rasa=={CHECKED_AGAINST} (requirements/rasa.txt), or set "
            f"{SETTING}=off to run stock Rasa without them."
        )


def patches() -> list[Patch]:
    """Every extension's patches, in `EXTENSIONS` order (importing the modules, which import Rasa)."""
    return [patch for name in EXTENSIONS for patch in importlib.import_module(f"{__name__}.{name}").PATCHES]


def apply() -> None:
    """Check Rasa's version, then install every extension. Calling it again changes nothing.

    The version is checked before any extension module is imported: another Rasa version may lack what they import.
    """
    import rasa

    check_version(rasa.__version__)
    for owner, attribute, replacement in patches():
        if vars(owner).get(attribute) is not replacement:
            setattr(owner, attribute, replacement)
