"""The launcher's ports: each server's port is checked before anything starts, with a message that says what to set;
tests and benchmarks get ports with room for every Rasa server."""

import socket
from pathlib import Path

import pytest

from api.launcher import LaunchError, System, free_port, port_is_free
from api.settings import MAX_RASA_PROCESSES, Settings


def _listening(port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def test_a_free_port_has_the_ports_after_it_free_too():
    port = free_port(MAX_RASA_PROCESSES)
    assert all(port_is_free(p) for p in range(port, port + MAX_RASA_PROCESSES))
    with _listening(port + 1):
        assert port_is_free(port) and not port_is_free(port + 1)


@pytest.mark.parametrize(
    ("name", "taken", "says"),
    [
        ("rasa-2", 1, ["the Rasa server rasa-2", "TIERZERO_RASA_PORT", "TIERZERO_RASA_PROCESSES"]),
        ("api", None, ["TIERZERO_PORT"]),
    ],
)
def test_a_server_whose_port_is_taken_is_not_started_and_the_error_says_what_to_set(tmp_path, name, taken, says):
    rasa_port = free_port(2)
    settings = Settings(data_dir=tmp_path, port=free_port(), rasa_port=rasa_port, rasa_processes=2)
    system = System(settings=settings, rasa_bin="/nonexistent/rasa", model=Path(), log_dir=tmp_path)
    port = settings.port if taken is None else rasa_port + taken
    with _listening(port), pytest.raises(LaunchError) as error:
        system.start_process(name)
    assert f"port {port}" in str(error.value) and all(s in str(error.value) for s in says), error.value
    assert system.processes == {}
