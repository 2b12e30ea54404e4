"""SIGTERM handling of the command line: the handler main() installs is scoped to main(), and a
child forked while it is installed can still be stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import time

import pytest

from edgevision.cli import main as cli


def test_main_puts_the_previous_sigterm_handler_back(tmp_path, capsys):
    before = signal.getsignal(signal.SIGTERM)
    assert cli.main(["report", str(tmp_path / "missing.json"), "--out", str(tmp_path / "r")]) == 2
    assert "error" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
def test_forked_child_dies_on_sigterm_while_main_handles_it():
    previous = cli._interrupt_on_sigterm()
    try:
        assert signal.getsignal(signal.SIGTERM) is cli._raise_interrupt
        pid = os.fork()
        if pid == 0:  # child: stands for a helper process that never returns by itself
            try:
                while True:
                    time.sleep(0.05)
            finally:  # reached only if SIGTERM ran the inherited Python handler instead
                os._exit(3)
        time.sleep(0.2)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child ignored SIGTERM")
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_command_exits_with_the_code_of_its_signal(
    tmp_path, capsys, monkeypatch, signum, code
):
    import edgevision.benchmark.report as report

    def stopped_mid_write(*args, **kwargs):
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler interrupts this sleep
        pytest.fail("the signal did not interrupt the command")

    monkeypatch.setattr(report, "write_report", stopped_mid_write)
    assert cli.main(["report", str(tmp_path / "r.json"), "--out", str(tmp_path / "out")]) == code
    assert capsys.readouterr().err.strip().endswith("edgevision report: interrupted")
