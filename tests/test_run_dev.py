"""`make run` (deploy/run_dev.py) stops both its servers on TERM and leaves no process behind
(issue 15: a TERM used to print "Segmentation fault" and leave the django-q2 parent running)."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from deploy.mtls_stack import free_port

ROOT = Path(__file__).resolve().parent.parent


def _sessions_of_children(parent: int) -> set[int]:
    """The session ids of `parent`'s children (each server runs in a session of its own)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == parent:  # ppid
            found.add(int(fields[3]))  # session id
    return found


def _processes_in(sessions: set[int]) -> list[str]:
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[3]) in sessions and fields[0] != "Z":
            alive.append(text.split(")", 1)[0] + ")")
    return alive


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_term_stops_the_server_and_the_cluster(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    } | {"CERTADMIN_INSECURE_DEV": "True", "CERTADMIN_VAR_DIR": str(tmp_path), "Q_WORKERS": "1"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=120)
    port = free_port()
    run = subprocess.Popen(
        [sys.executable, str(ROOT / "deploy" / "run_dev.py"), f"127.0.0.1:{port}"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sessions: set[int] = set()
    try:
        _wait(lambda: len(_sessions_of_children(run.pid)) == 2, 30, "both servers")
        sessions = _sessions_of_children(run.pid)
        _wait(lambda: _healthy(port), 60, "runserver")
        # The cluster's parent has forked its workers (a process group of more than one).
        _wait(lambda: len(_processes_in(sessions)) > 2, 60, "the cluster's workers")

        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=40)
    finally:
        if run.poll() is None:
            run.kill()
        for session in sessions:  # whatever a failure left behind (each session is a group)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(session, signal.SIGKILL)

    assert run.returncode == 0, output
    assert _processes_in(sessions) == []
    assert "Segmentation fault" not in output
    assert "Traceback" not in output
    assert "has stopped" in output  # django-q2's own orderly shutdown ran
