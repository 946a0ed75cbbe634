"""Start the Rasa server: `python -m bot.server run ...` takes the same arguments as `rasa run`.

With Tier Zero's extensions to Rasa's internals (bot/rasa_ext, installed by `bot.rasa_ext.apply()`, which refuses
a Rasa version they were not checked against) unless `TIERZERO_RASA_EXTENSIONS` is off: then it is stock Rasa, not
one of its attributes replaced (to compare the two, or to run another Rasa version). The launcher sets the variable
from the setting of the same name (api/settings.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

import bot.rasa_ext
from bot.rasa_ext import SETTING

# The words pydantic reads as booleans, as the app's setting of the same name does.
ON, OFF = {"1", "on", "true", "t", "yes", "y"}, {"0", "off", "false", "f", "no", "n"}


def extensions_on(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether `TIERZERO_RASA_EXTENSIONS` asks for the extensions (the default) or for stock Rasa."""
    value = environ.get(SETTING, "on").strip().lower()
    if value not in ON | OFF:
        raise SystemExit(f"error: {SETTING}={environ[SETTING]!r}: say on or off")
    return value in ON


def main() -> None:
    if extensions_on():
        try:
            bot.rasa_ext.apply()
        except bot.rasa_ext.UnsupportedRasaVersion as error:
            raise SystemExit(f"error: {error}") from None
        print(f"Rasa {bot.rasa_ext.CHECKED_AGAINST} with Tier Zero's extensions (bot/rasa_ext)", file=sys.stderr)
    else:
        print(f"stock Rasa: {SETTING}=off", file=sys.stderr)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
