"""bot.rasa_ext.apply() and bot.server: every extension installed on the Rasa version they are checked against, none
on another (with a message saying which and what to set), and stock Rasa untouched when TIERZERO_RASA_EXTENSIONS is
off."""

import re
from types import ModuleType

import pytest
import rasa
import rasa.__main__
from conftest import PATCHES, ROOT, STOCK

import bot.rasa_ext
import bot.server
from bot.rasa_ext import CHECKED_AGAINST, UnsupportedRasaVersion


def installed() -> list[bool]:
    """For each patch, whether its replacement is in place."""
    return [vars(owner)[attribute] is replacement for owner, attribute, replacement in PATCHES]


def untouched() -> bool:
    """Whether every attribute the extensions replace is Rasa's own."""
    return all(vars(owner)[attribute] is STOCK[(owner, attribute)] for owner, attribute, _ in PATCHES)


def attributes() -> dict:
    return {(owner, attribute): vars(owner)[attribute] for owner, attribute, _ in PATCHES}


def test_the_version_checked_against_is_the_one_pinned_and_installed():
    pinned = re.search(r"^rasa==(\S+)$", (ROOT / "requirements" / "rasa.txt").read_text(), re.MULTILINE)
    assert pinned and pinned[1] == CHECKED_AGAINST == rasa.__version__


def test_every_extension_declares_patches_of_rasas_own_attributes():
    modules = {f"bot.rasa_ext.{name}" for name in bot.rasa_ext.EXTENSIONS}
    assert {replacement.__module__ for _, _, replacement in PATCHES} == modules
    for owner, attribute, replacement in PATCHES:
        assert (owner.__name__ if isinstance(owner, ModuleType) else owner.__module__).startswith("rasa."), owner
        assert attribute in vars(owner) and vars(owner)[attribute] is not replacement


def test_apply_installs_every_extension_and_a_second_call_changes_nothing():
    assert untouched()
    bot.rasa_ext.apply()
    assert all(installed())
    after_one = attributes()
    bot.rasa_ext.apply()
    assert attributes() == after_one


def test_apply_refuses_another_rasa_version_saying_which_and_what_to_set(monkeypatch):
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(UnsupportedRasaVersion) as error:
        bot.rasa_ext.apply()
    message = str(error.value)
    assert "Rasa 3.6.21" in message and "Rasa 3.7.0 is installed" in message, message
    assert "TIERZERO_RASA_EXTENSIONS=off" in message and "rasa==3.6.21" in message, message
    assert untouched()


def test_the_version_is_checked_before_any_extension_is_imported(monkeypatch):
    """Another Rasa version may lack what the extension modules import: the message must come first."""

    def imported(*_):
        raise AssertionError("an extension module was imported")

    monkeypatch.setattr(bot.rasa_ext, "patches", imported)
    monkeypatch.setattr(rasa, "__version__", "3.5.0")
    with pytest.raises(UnsupportedRasaVersion):
        bot.rasa_ext.apply()


@pytest.fixture
def rasa_cli(monkeypatch):
    """Rasa's CLI replaced by one that notes, when it is called, which extensions are in place."""
    calls = []
    monkeypatch.setattr(rasa.__main__, "main", lambda: calls.append(installed()))
    return calls


@pytest.mark.parametrize("value", [None, "on", "true", "1", "ON"])
def test_the_server_starts_rasa_with_every_extension_installed(monkeypatch, rasa_cli, value):
    if value is None:
        monkeypatch.delenv("TIERZERO_RASA_EXTENSIONS", raising=False)
    else:
        monkeypatch.setenv("TIERZERO_RASA_EXTENSIONS", value)
    bot.server.main()
    assert rasa_cli == [[True] * len(PATCHES)]


@pytest.mark.parametrize("value", ["off", "false", "0", "Off"])
def test_with_the_setting_off_the_server_starts_stock_rasa_with_no_attribute_replaced(monkeypatch, rasa_cli, value):
    monkeypatch.setenv("TIERZERO_RASA_EXTENSIONS", value)
    bot.server.main()
    assert rasa_cli == [[False] * len(PATCHES)]
    assert untouched()


def test_with_the_setting_off_another_rasa_version_starts(monkeypatch, rasa_cli):
    monkeypatch.setenv("TIERZERO_RASA_EXTENSIONS", "off")
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    bot.server.main()
    assert rasa_cli == [[False] * len(PATCHES)]


def test_on_another_rasa_version_the_server_exits_with_the_message_before_rasa_starts(monkeypatch, rasa_cli):
    monkeypatch.delenv("TIERZERO_RASA_EXTENSIONS", raising=False)
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(SystemExit) as exit:
        bot.server.main()
    assert "Rasa 3.7.0 is installed" in str(exit.value.code) and "TIERZERO_RASA_EXTENSIONS=off" in str(exit.value.code)
    assert rasa_cli == [] and untouched()


def test_a_value_of_the_setting_that_is_neither_on_nor_off_stops_the_server(monkeypatch, rasa_cli):
    monkeypatch.setenv("TIERZERO_RASA_EXTENSIONS", "stock")
    with pytest.raises(SystemExit) as exit:
        bot.server.main()
    assert "TIERZERO_RASA_EXTENSIONS='stock'" in str(exit.value.code)
    assert rasa_cli == [] and untouched()
