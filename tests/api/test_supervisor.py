"""`tierzero run` keeps the system up: a process that exits is started again after a pause, the others go on; one that
keeps exiting stops the run with a message naming it. Real processes (stand-ins for the servers) and real signals;
the clock is the test's, so pauses pass at once."""

import signal
import sys
from pathlib import Path

import pytest

from api.launcher import LaunchError, Supervisor, System, free_port
from api.settings import MAX_RASA_PROCESSES, Settings

LIVES = [sys.executable, "-c", "import time; time.sleep(120)"]
DIES = [sys.executable, "-c", "raise SystemExit(3)"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def system(tmp_path, monkeypatch):
    settings = Settings(data_dir=tmp_path, port=free_port(), rasa_port=free_port(MAX_RASA_PROCESSES))
    running = System(settings=settings, rasa_bin="", model=Path(), log_dir=tmp_path)
    commands = {name: LIVES for name in ("api", *running.rasa_names)}
    monkeypatch.setattr(running, "_command", lambda name: (commands[name], {}))
    running.commands = commands
    for name in commands:
        running.launch(name)
    yield running
    running.stop(timeout=5)


def _wait_for_exit(process) -> None:
    process.wait(timeout=30)


def test_a_process_that_exits_is_started_again_after_a_pause_and_the_others_go_on(system):
    clock = Clock()
    supervisor = Supervisor(system, clock=clock)
    assert supervisor.check() == []
    crashed, others = system.processes["rasa-2"], {n: p for n, p in system.processes.items() if n != "rasa-2"}
    crashed.send_signal(signal.SIGKILL)
    _wait_for_exit(crashed)
    said = supervisor.check()
    assert len(said) == 1 and said[0].startswith("rasa-2 exited (code -9); starting it again in 1 s")
    assert system.processes["rasa-2"] is crashed  # not yet: its pause is not over
    clock.now += 1
    assert supervisor.check() == [f"rasa-2 started again (pid {system.processes['rasa-2'].pid})"]
    assert system.processes["rasa-2"] is not crashed and system.processes["rasa-2"].poll() is None
    assert all(system.processes[n] is p and p.poll() is None for n, p in others.items())


def test_the_pause_doubles_with_each_exit_and_a_process_that_keeps_exiting_stops_the_run(system):
    clock = Clock()
    supervisor = Supervisor(system, max_restarts=3, window=600, clock=clock)
    system.commands["rasa"] = DIES
    system.processes["rasa"].send_signal(signal.SIGKILL)
    pauses = []
    with pytest.raises(LaunchError) as error:
        for _ in range(10):
            _wait_for_exit(system.processes["rasa"])
            said = supervisor.check()
            pauses.append(said[0].split(" in ")[1].split(" s;")[0])
            clock.now += float(pauses[-1])
            supervisor.check()  # started again, and it exits at once
    assert pauses == ["1", "2", "4"]
    assert "rasa exited 4 times in 10 minutes (last code 3)" in str(error.value) and "rasa.log" in str(error.value)


def test_exits_longer_ago_than_the_window_are_forgotten(system):
    clock = Clock()
    supervisor = Supervisor(system, max_restarts=1, window=60, clock=clock)
    for _ in range(3):  # one exit a window never adds up to too many
        system.processes["api"].send_signal(signal.SIGKILL)
        _wait_for_exit(system.processes["api"])
        assert "starting it again in 1 s" in supervisor.check()[0]
        clock.now += 61
        assert supervisor.check()[0].startswith("api started again")
