"""`make run`'s two processes, the development server and the django-q2 cluster, started
together and stopped together.

The Makefile used to start them from a shell with `trap 'kill 0' INT TERM EXIT`. A TERM sent
to make reached that shell while it waited for runserver, so the trap did not run until
runserver ended, and `kill 0` then signalled every process of the group at once, the
cluster's parent and its worker processes alike, mid-way through their own shutdown: "Segmentation
fault" printed and the cluster's parent left running.

Here each server runs in its own process group. On INT, TERM or HUP, or when either server
exits, the other is asked to stop (SIGTERM to its parent only: django-q2's parent stops its
workers in order, runserver exits), given STOP_SECONDS, then its whole group is killed, so
nothing is left behind. The exit status is the first server's that ended by itself, else 0.

    python deploy/run_dev.py HOST:PORT
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_SECONDS = 15.0


class Stop(Exception):
    """Raised by the signal handler: leave the wait loop and stop both servers."""


def _stop(signum: int, frame: object) -> None:
    raise Stop


def _start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        start_new_session=True,  # its own process group: a Ctrl-C on the terminal reaches us only
    )


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signum)


def stop(procs: list[subprocess.Popen[bytes]], timeout: float = STOP_SECONDS) -> None:
    """TERM each server's own process, wait, then KILL whatever is left of its group."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        _signal_group(proc, signal.SIGKILL)  # workers the parent did not stop, or a hung parent
        proc.wait()


def main(address: str) -> int:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    procs: list[subprocess.Popen[bytes]] = []
    status = 0
    try:
        procs.append(_start("qcluster"))
        procs.append(_start("runserver", "--noreload", address))
        while all(proc.poll() is None for proc in procs):
            time.sleep(0.2)
        status = next(proc.returncode for proc in procs if proc.returncode is not None)
        print(
            f"run_dev: {'qcluster' if procs[0].returncode is not None else 'runserver'} "
            f"ended (status {status}); stopping the other.",
            file=sys.stderr,
        )
    except Stop:
        print("\nrun_dev: stopping the server and the cluster…", file=sys.stderr)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        stop(procs)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8000"))
