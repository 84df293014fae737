"""The certificate-list endpoint of the JSON API over the mutual-TLS listener, against the same
endpoint over the plain TLS listener of the same stack (nginx + gunicorn, started here).

Over mutual TLS the caller holds Enforce SSL/TLS Mutual Authentication and presents a
registered client certificate; over plain TLS the caller is a member without it (token only).
Both list the same 50 certificates. The load generator runs on 127.0.0.1: `--threads` Python
threads, each with one kept-alive HTTPS connection (http.client), for `--seconds` per round;
each round runs both listeners back to back (alternating which goes first). Time per request
is 1 / throughput of the whole stack; the ratio is the median of the rounds' mTLS / plain
ratios. Goal: ratio <= 1.15.

    .venv/bin/python bench/mtls_api.py [--rounds 12] [--seconds 1.5] [--threads 4] [--workers 2]
"""

import argparse
import http.client
import json
import ssl
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import _django

_django.setup("mtls")

import certifi  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from certadmin.models import Certificate  # noqa: E402
from certadmin.services.mutual_auth import upload_mutual_auth_certificate  # noqa: E402
from certadmin.services.tokens import create_api_token  # noqa: E402
from deploy.mtls_stack import Stack, TlsFiles, make_demo_client  # noqa: E402
from orgs import permissions  # noqa: E402
from orgs.models import Membership, Organization, PermissionSet  # noqa: E402
from orgs.services import members, organizations, permission_sets, profiles  # noqa: E402
from tests.factories import UserFactory  # noqa: E402

GOAL = 1.15


def fill(org: Organization, count: int) -> None:
    now = timezone.now()
    Certificate.objects.bulk_create(
        Certificate(
            organization=org, label=f"Cert {i}", unique_name=f"Cert_{i}",
            kind="self_signed", key_type="RSA-2048", private_key=b"\x01sealed-dummy",
            subject=f"CN=Cert_{i}", issuer=f"CN=Cert_{i}", serial=f"{i:032X}",
            fingerprint_sha256=f"{i:064x}", chain_pem="-----BEGIN CERTIFICATE-----\n",
            not_before=now - timedelta(days=10), not_after=now + timedelta(days=i + 1),
        )
        for i in range(count)
    )  # fmt: skip


def member(org: Organization, username: str, *extra: str) -> object:
    user = UserFactory(username=username)
    profile = profiles.standard_profile(org, permissions.SYSTEM_ADMINISTRATOR)
    membership = members.add_member(org=org, user=user, profile=profile, acting_user=None)
    if extra:
        pset = permission_sets.create_permission_set(
            org=org,
            label=f"Extra {username}",
            api_name=f"Extra_{PermissionSet.objects.count()}",
            permission_codes=list(extra),
            acting_user=None,
        )
        permission_sets.assign_permission_set(membership=membership, pset=pset, acting_user=None)
    return user


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def server_cpu_seconds(stack: Stack) -> float:
    """CPU time used so far by nginx and gunicorn, their workers included."""
    return _django.process_tree_cpu_seconds({proc.pid for proc in stack._procs})


def load(
    host: str,
    port: int,
    path: str,
    token: str,
    context: ssl.SSLContext,
    seconds: float,
    threads: int,
) -> tuple[int, float, int]:
    """(requests done, elapsed seconds, non-200 answers) with `threads` kept-alive connections."""
    counts, errors = [0] * threads, [0] * threads
    stop_at = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}

    def worker(n: int) -> None:
        conn = http.client.HTTPSConnection(host, port, context=context, timeout=10)
        while time.perf_counter() < stop_at:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            counts[n] += 1
            errors[n] += response.status != 200
        conn.close()

    start = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(counts), time.perf_counter() - start, sum(errors)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=50)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-mtls-stack-"))
    client_files: TlsFiles = make_demo_client(work / "client")
    bundle = work / "bundle.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes() + client_files.ca.read_bytes())
    settings.CERTADMIN_MTLS_TRUST_BUNDLE = str(bundle)

    org = organizations.create_organization(name="Bench", acting_user=None)
    fill(org, args.rows)
    enforced = member(org, "enforced", "enforce_mutual_authentication")
    plain = member(org, "plain")
    upload_mutual_auth_certificate(
        org=org,
        label="Bench client",
        unique_name="Bench_Client",
        data=client_files.cert.read_bytes(),
        acting_user=None,
    )
    tokens = {
        name: create_api_token(
            org=org, user=user, name="bench", expires_in_days=None, acting_user=None
        ).plaintext
        for name, user in (("mtls", enforced), ("tls", plain))
    }
    assert Membership.objects.filter(organization=org).count() == 2
    path = f"/api/v1/orgs/{org.public_id}/certificates/"

    stack = Stack(
        workdir=work / "stack",
        workers=args.workers,
        app_env={"DATABASE_URL": database_url(), "CONN_MAX_AGE": "60"},
    )
    with stack:
        assert stack.tls is not None
        plain_context = ssl.create_default_context(cafile=str(stack.tls.ca))
        mtls_context = ssl.create_default_context(cafile=str(stack.tls.ca))
        mtls_context.load_cert_chain(str(client_files.cert), str(client_files.key))
        runs = {
            "mtls": (stack.mtls_port, tokens["mtls"], mtls_context),
            "tls": (stack.tls_port, tokens["tls"], plain_context),
        }
        # Both callers see the same page; the enforced one is refused without its certificate.
        for name, (port, token, context) in runs.items():
            conn = http.client.HTTPSConnection(stack.host, port, context=context)
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            body = json.loads(conn.getresponse().read())
            assert len(body["results"]) == min(args.rows, 50), (name, body)
        refused = load(stack.host, stack.mtls_port, path, tokens["mtls"], plain_context, 0.2, 1)
        assert refused[2] == refused[0], "the enforced user was let in without a certificate"

        for port, token, context in runs.values():  # warm up
            load(stack.host, port, path, token, context, 1.0, args.threads)
        ms: dict[str, list[float]] = {"mtls": [], "tls": []}
        cpu_ms: dict[str, list[float]] = {"mtls": [], "tls": []}
        for round_ in range(args.rounds):
            order = ("mtls", "tls") if round_ % 2 == 0 else ("tls", "mtls")
            for name in order:
                port, token, context = runs[name]
                cpu_before = server_cpu_seconds(stack)
                done, elapsed, errors = load(
                    stack.host, port, path, token, context, args.seconds, args.threads
                )
                cpu_ms[name].append((server_cpu_seconds(stack) - cpu_before) * 1000 / done)
                if errors:
                    sys.exit(f"{errors} of {done} requests failed over {name}:\n{stack.logs()}")
                ms[name].append(elapsed * 1000 / done)
                print(f"round {round_ + 1} {name:>4}: {done / elapsed:7.1f} req/s, "
                      f"{elapsed * 1000 / done:.2f} ms/req")  # fmt: skip

    mtls_ms, tls_ms = statistics.median(ms["mtls"]), statistics.median(ms["tls"])
    # Each round measures both listeners back to back, so the ratio within a round cancels
    # most of the drift of a shared machine; the median of those ratios is the result.
    ratio = statistics.median(m / t for m, t in zip(ms["mtls"], ms["tls"], strict=True))
    print(f"backend: {_django.backend()}, gunicorn workers: {args.workers} (gthread, 4 threads), "
          f"client threads: {args.threads}, {args.rows} certificates per page")  # fmt: skip
    print(f"mutual TLS: median {1000 / mtls_ms:.1f} req/s ({mtls_ms:.2f} ms/req)")
    print(f"plain TLS:  median {1000 / tls_ms:.1f} req/s ({tls_ms:.2f} ms/req)")
    print(f"ratio mTLS / plain: median of {args.rounds} rounds {ratio:.2f}, "
          f"of the medians {mtls_ms / tls_ms:.2f}")  # fmt: skip
    cpu_m, cpu_t = statistics.median(cpu_ms["mtls"]), statistics.median(cpu_ms["tls"])
    print(f"server CPU (nginx + gunicorn) per request: mutual TLS {cpu_m:.2f} ms, "
          f"plain TLS {cpu_t:.2f} ms, ratio {cpu_m / cpu_t:.2f}")  # fmt: skip
    print(f"goal: ratio <= {GOAL} ({'met' if ratio <= GOAL else 'NOT met'})")
    print(f"RESULT mtls_ms_per_req={mtls_ms:.2f} floor={tls_ms:.2f} ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
