"""Eight crafted PKCS#12 uploads at once through gunicorn, while another org's user logs in
(issue 13, item 2: "no 500, and a login of another org during them stays under 0.5 s").

The file is the issue's: ~1 MB whose AuthenticatedSafe holds 52,000 empty SafeContents
(tests/hostile_files.py). gunicorn runs as shipped (deploy/gunicorn.conf.py: 2 gthread workers
of 4 threads) on a free loopback port, on the embedded default: the production settings in
development mode (plain HTTP) with SQLite in a temporary directory and the real password hasher.
In each of `--rounds` rounds alice (Acme's admin) posts the file from 8 threads at once
(`--uploads` times each) and carol (Globex's admin) logs in at the same moment (GET the form,
POST the credentials: one login); /healthz is fetched after her login. Before the fix the
same run gave 500s ("database is locked") and logins of seconds.

    .venv/bin/python bench/hostile_upload.py [--rounds 10] [--uploads 1] [--threads 8]

The last line is `RESULT name=hostile_upload floor=0.5 ratio=<worst login s / 0.5>`.
"""

import argparse
import base64
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import _django
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOOR_S = 0.5
PASSWORD = "bench password 1"


def environment(var_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="certadmin.settings",
        CERTADMIN_VAR_DIR=var_dir,
        CERTADMIN_INSECURE_DEV="True",  # plain HTTP on loopback, as `make run`
        SECRET_KEY="bench-hostile-upload",
        CERTADMIN_KEKS=base64.b64encode(b"bench-hostile-upload-kek-32bytes").decode(),
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=str(Path(var_dir) / "static"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    return env


def prepare() -> None:
    """Migrate the temporary SQLite database; alice admin of Acme, carol admin of Globex."""
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connections

    from orgs import permissions
    from orgs.services import members, organizations, profiles

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # the manifest, as `make run`

    for org_name, username in (("Acme", "alice"), ("Globex", "carol")):
        org = organizations.create_organization(name=org_name, acting_user=None)
        user = User.objects.create_user(username, password=PASSWORD)
        profile = profiles.standard_profile(org, permissions.SYSTEM_ADMINISTRATOR)
        members.add_member(org=org, user=user, profile=profile, acting_user=None)
    connections.close_all()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(base: str, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or workers still booting
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz in time")


def login(base: str, username: str) -> tuple[requests.Session, float, int]:
    """A fresh session logged in as `username`, the seconds the login took (GET + POST) and its
    status (302 when it worked; 0 when the connection failed)."""
    session = requests.Session()
    started = time.perf_counter()
    try:
        page = session.get(f"{base}/accounts/login/", timeout=120)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if not token:
            return session, time.perf_counter() - started, page.status_code
        answer = session.post(
            f"{base}/accounts/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
            headers={"Referer": f"{base}/accounts/login/"},
            allow_redirects=False,
            timeout=120,
        )
    except requests.RequestException:
        return session, time.perf_counter() - started, 0
    return session, time.perf_counter() - started, answer.status_code


def server_cpu_seconds(root_pid: int) -> float:
    """CPU time used so far by gunicorn's master and workers."""
    return _django.process_tree_cpu_seconds({root_pid})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10, help="rounds of uploads and a login")
    parser.add_argument("--uploads", type=int, default=1, help="uploads per thread and round")
    parser.add_argument("--threads", type=int, default=8, help="concurrent uploads")
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="bench-hostile-")
    env = environment(var_dir)
    os.environ.update(env)
    prepare()
    from orgs.models import Organization
    from tests.hostile_files import PASSWORD as KEYSTORE_PASSWORD
    from tests.hostile_files import many_safes_pfx

    acme = Organization.objects.get(name="Acme").public_id
    pfx = many_safes_pfx()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "deploy/gunicorn.conf.py",
            "--no-control-socket",
            "certadmin.wsgi",
        ],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=open(Path(var_dir) / "gunicorn.log", "w"),  # noqa: SIM115
    )
    try:
        wait_until_up(base)
        idle = [login(base, "carol")[1] for _ in range(5)]
        admin, _, _ = login(base, "alice")
        import_url = f"{base}/o/{acme}/setup/certificates/import/"
        token = admin.cookies["csrftoken"]

        def post_file() -> tuple[int, bool]:
            """Status of one upload (0: connection failed) and whether the page says why."""
            try:
                answer = admin.post(
                    import_url,
                    data={"password": KEYSTORE_PASSWORD, "csrfmiddlewaretoken": token},
                    files={"keystore": ("hostile.p12", pfx, "application/x-pkcs12")},
                    headers={"Referer": import_url},
                    timeout=120,
                )
            except requests.RequestException:
                return 0, False
            return answer.status_code, "more than 64 SafeContents" in answer.text

        # The server's CPU for one refused upload, uploads alone and one at a time.
        cpu_before = server_cpu_seconds(server.pid)
        for _ in range(20):
            post_file()
        cpu_per_upload = (server_cpu_seconds(server.pid) - cpu_before) / 20

        statuses: Counter[int] = Counter()
        without_message = 0
        upload_s: list[float] = []
        during: list[float] = []
        login_statuses: Counter[int] = Counter()
        health_s: list[float] = []
        lock = threading.Lock()

        def upload(go: threading.Barrier) -> None:
            nonlocal without_message
            go.wait()
            for _ in range(args.uploads):
                started = time.perf_counter()
                status, says_why = post_file()
                with lock:
                    upload_s.append(time.perf_counter() - started)
                    statuses[status] += 1
                    without_message += status == 400 and not says_why

        for _ in range(args.rounds):
            go = threading.Barrier(args.threads + 1)
            uploaders = [threading.Thread(target=upload, args=(go,)) for _ in range(args.threads)]
            for thread in uploaders:
                thread.start()
            go.wait()  # the uploads and carol's login start together
            _, seconds, status = login(base, "carol")
            during.append(seconds)
            login_statuses[status] += 1
            started = time.perf_counter()
            try:
                requests.get(f"{base}/healthz", timeout=120)
            except requests.RequestException:
                login_statuses[-1] += 1  # a failed /healthz, counted with the logins
            health_s.append(time.perf_counter() - started)
            for thread in uploaders:
                thread.join()
    finally:
        server.terminate()
        server.wait(timeout=30)

    worst = max(during)
    print(f"file: {len(pfx):,} bytes, 52,000 empty SafeContents; {args.rounds} rounds of "
          f"{args.threads} threads x {args.uploads} upload(s) and one login of carol started "
          "together; gunicorn 2 gthread workers x 4 threads, SQLite")  # fmt: skip
    print(f"server CPU per refused upload (alone): {cpu_per_upload * 1000:.0f} ms")
    print(f"upload answers: {dict(sorted(statuses.items()))} (0: connection failed); "
          f"400 without the message: {without_message}")  # fmt: skip
    print(f"upload time: median {statistics.median(upload_s) * 1000:.0f} ms, "
          f"max {max(upload_s) * 1000:.0f} ms")  # fmt: skip
    print(f"carol's login, idle: median {statistics.median(idle) * 1000:.0f} ms")
    print(f"carol's login during the uploads: {dict(login_statuses)} (302: logged in), median "
          f"{statistics.median(during) * 1000:.0f} ms, worst {worst * 1000:.0f} ms")  # fmt: skip
    print(f"/healthz during the uploads: worst {max(health_s) * 1000:.0f} ms")
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} (the login's password hash, "
          "PBKDF2 at Django's 1,000,000 iterations, is most of its time)")  # fmt: skip
    if set(statuses) != {400} or without_message or set(login_statuses) != {302}:
        print("FAIL: a request was not answered as it should have been")
    print(f"RESULT name=hostile_upload floor={FLOOR_S} ratio={worst / FLOOR_S:.2f}")


if __name__ == "__main__":
    main()
