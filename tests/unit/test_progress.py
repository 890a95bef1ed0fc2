"""Progress reporting: a bar on a terminal, plain lines elsewhere, nothing when quiet."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from snakesim.cli.progress import progress, progress_interval, progress_line, progress_mode
from snakesim.errors import ConfigurationError


class Clock:
    """A fake monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def console(terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=120), buffer


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SNAKESIM_PROGRESS", raising=False)
    monkeypatch.delenv("SNAKESIM_PROGRESS_INTERVAL", raising=False)


def test_the_line() -> None:
    assert progress_line("quickstart", 3, 10, "round 3/10", 12.0) == \
        "quickstart: round 3/10, 30%, elapsed 12 s, ETA 28 s"
    assert progress_line("big", 1, 40, "round 1/40", 125.0) == \
        "big: round 1/40, 2%, elapsed 2 min 05 s, ETA 1 h 21 min"
    assert progress_line("sweep", 0, 6, "starting", 0.4) == "sweep: starting, 0%, elapsed 0 s"
    assert progress_line("x", 2, 0, "", 3.0) == "x, elapsed 3 s"  # no total: no ETA


def test_off_a_terminal_a_line_at_each_tenth_and_after_a_silence() -> None:
    screen, buffer = console(terminal=False)
    clock = Clock()
    with progress("run", screen, interval_s=30, clock=clock) as report:
        for done in range(1, 21):  # 20 rounds, 1 s each: a line every second round
            clock.now += 1
            report(done, 20, f"round {done}/20")
        # Then no new tenth: a line only once 30 s passed since the last one.
        clock.now += 10
        report(20, 21, "round 20/21")  # 10 s of silence: none
        clock.now += 25
        report(20, 21, "round 20/21")  # 35 s: a line
        clock.now += 6
        report(20, 21, "round 20/21")  # 6 s since that one: none
    lines = buffer.getvalue().splitlines()
    assert lines[:2] == ["run: round 2/20, 10%, elapsed 2 s, ETA 18 s",
                         "run: round 4/20, 20%, elapsed 4 s, ETA 16 s"]
    assert len(lines) == 11
    assert lines[-1] == "run: round 20/21, 95%, elapsed 55 s, ETA 3 s"
    assert "\x1b" not in buffer.getvalue()  # plain text: no escape codes in a log


def test_on_a_terminal_a_bar_with_the_eta() -> None:
    screen, buffer = console(terminal=True)
    with progress("run", screen) as report:
        report(3, 10, "round 3/10")
        screen.file.flush()
    text = buffer.getvalue()
    assert "run: round 3/10" in text and "3/10" in text and "ETA" in text
    assert "30%" not in text  # not the plain lines


@pytest.mark.parametrize("terminal", [True, False])
def test_quiet_prints_nothing(terminal: bool) -> None:
    screen, buffer = console(terminal)
    with progress("run", screen, quiet=True, interval_s=0) as report:
        report(5, 10, "round 5/10")
    assert buffer.getvalue() == ""


def test_the_environment_chooses_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    screen, _ = console(terminal=True)
    assert progress_mode(screen) == "bar"
    monkeypatch.setenv("SNAKESIM_PROGRESS", "lines")
    assert progress_mode(screen) == "lines"
    assert progress_mode(screen, quiet=True) == "off"
    monkeypatch.setenv("SNAKESIM_PROGRESS", "loud")
    with pytest.raises(ConfigurationError, match=r"^\$SNAKESIM_PROGRESS: must be bar, lines "
                       r"or off \(got loud\)$"):
        progress_mode(screen)


def test_the_interval_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert progress_interval() == 30
    monkeypatch.setenv("SNAKESIM_PROGRESS_INTERVAL", "0")
    assert progress_interval() == 0
    for bad in ("-1", "soon", "nan"):
        monkeypatch.setenv("SNAKESIM_PROGRESS_INTERVAL", bad)
        with pytest.raises(ConfigurationError, match=r"^\$SNAKESIM_PROGRESS_INTERVAL: must be "
                           r"a number of seconds >= 0"):
            progress_interval()


@given(total=st.integers(1, 500), steps=st.lists(st.integers(0, 50), max_size=60))
def test_without_silences_one_line_per_tenth_reached(total: int, steps: list[int]) -> None:
    """Property: with no time passing, the lines are exactly the tenths newly reached."""
    screen, buffer = console(terminal=False)
    done, reached = 0, 0
    expected = 0
    with progress("p", screen, interval_s=1e9, clock=Clock()) as report:
        for step in steps:
            done = min(total, done + step)
            report(done, total, "")
            tenth = 10 * done // total
            expected += tenth > reached
            reached = max(reached, tenth)
    assert len(buffer.getvalue().splitlines()) == expected <= 10
