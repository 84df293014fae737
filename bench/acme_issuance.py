"""ACME issuance end to end vs the `acme` library's own client, and renewal planning.

1. Issue N certificates (default 50) from pebble with http-01, through certadmin's "Get a
   Certificate from ACME" POST and the django-q2 task it enqueues (the Django test client; the
   test settings run tasks inline, Q_CLUSTER sync, through django-q2's own worker code, so
   each POST returns once the order is issued: the figure is the request plus the worker's
   run; pebble fetches each answer from certadmin's challenge path, served by a threaded WSGI
   server on this machine), against the
   floor: the `acme` library's ClientV2 doing the same orders (new EC P-256 key, CSR, order,
   http-01 answered by a bare http.server, finalize, download). Each side has its own pebble
   (identical, PEBBLE_VA_NOSLEEP=1, no authorization reuse), runs interleaved, totals of wall
   time. Goal: ratio <= 1.3.
2. Plan the renewal of 1,000 due certificates across 10 orgs (and of 100): the queries must not
   grow with the number due or of orgs.

    .venv/bin/python bench/acme_issuance.py [--certificates 50]
"""

import argparse
import http.server
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import _django

# This file is named as its feature, like the other benches; the directory it runs from must
# not then hide the `acme` package.
sys.path[:] = [p for p in sys.path if Path(p).resolve() != Path(__file__).resolve().parent]
_django.setup("acme")

from acme import challenges, client, messages  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from certadmin import acme_client  # noqa: E402
from certadmin.models import AcmeCertificate, AcmeOrder, Certificate  # noqa: E402
from certadmin.services.acme import accounts, renewal  # noqa: E402
from orgs import permissions  # noqa: E402
from orgs.services import members, organizations, profiles  # noqa: E402
from tests.acme_peers import Pebble, free_port  # noqa: E402
from tests.factories import UserFactory  # noqa: E402

GOAL = 1.3


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_certadmin() -> tuple[int, ThreadedWSGIServer]:
    port = free_port()
    server = ThreadedWSGIServer(("127.0.0.1", port), QuietHandler)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return port, server


TOKENS: dict[str, str] = {}


class FloorHandler(http.server.BaseHTTPRequestHandler):
    """The floor's http-01 responder: a dict lookup."""

    def do_GET(self) -> None:
        answer = TOKENS.get(self.path.rsplit("/", 1)[-1])
        self.send_response(200 if answer else 404)
        self.end_headers()
        if answer:
            self.wfile.write(answer.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_floor() -> int:
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), FloorHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return port


def floor_client(pebble: Pebble) -> client.ClientV2:
    key = ec.generate_private_key(ec.SECP256R1())
    acme = acme_client.connect(acme_client.Endpoint(pebble.directory_url, pebble.ca_bundle), key)
    acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
    return acme


def floor_issue(acme: client.ClientV2, domain: str) -> str:
    """What a program using the acme library directly does for one certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = acme_client.make_csr(key, [domain])
    order = acme.new_order(csr)
    for authzr in order.authorizations:
        challb = next(c for c in authzr.body.challenges if isinstance(c.chall, challenges.HTTP01))
        response, validation = challb.response_and_validation(acme.net.key)
        TOKENS[challb.chall.encode("token")] = validation
        acme.answer_challenge(challb, response)
    return str(acme.poll_and_finalize(order).fullchain_pem)


def issuance(n: int, workdir: Path) -> tuple[float, float, list[float], list[float]]:
    certadmin_port, _server = serve_certadmin()
    ours = Pebble(workdir / "ours", http_port=certadmin_port).start()
    floors = Pebble(workdir / "floor", http_port=serve_floor()).start()
    try:
        settings.CERTADMIN_ACME_CA_BUNDLE = ours.ca_bundle
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, ".bench.test"]
        org = organizations.create_organization(name="Bench", acting_user=None)
        admin = UserFactory(username="bench-admin")
        members.add_member(
            org=org,
            user=admin,
            profile=profiles.standard_profile(org, permissions.SYSTEM_ADMINISTRATOR),
            acting_user=None,
        )
        account = accounts.create_account(
            org=org,
            label="pebble",
            directory_url=ours.directory_url,
            terms_agreed=True,
            acting_user=None,
        )
        accounts.register_account(account=account, acting_user=None)
        web = Client()
        web.force_login(admin)
        url = reverse("certadmin:acme-order-create", args=[org.public_id])
        acme = floor_client(floors)
        ours_times, floor_times = [], []
        for i in range(n):
            start = time.perf_counter()
            response = web.post(
                url,
                {
                    "account": str(account.uuid),
                    "label": f"Bench {i}",
                    "unique_name": f"Bench_{i}",
                    "domains": f"www{i}.bench.test",
                    "key_type": "EC-P256",
                    "exportable": "on",
                    "challenge": "http-01",
                },
            )
            ours_times.append(time.perf_counter() - start)
            web.cookies.pop("messages", None)
            # The POST lands on the order's page; the worker's run (inline) issued it, or the
            # order says why, in words.
            location = response.get("Location", "")
            assert "/acme/orders/" in location, response.content[-2000:]
            order = AcmeOrder.objects.get(uuid=location.rstrip("/").rsplit("/", 1)[-1])
            assert order.status == AcmeOrder.Status.ISSUED, order.error
            start = time.perf_counter()
            floor_issue(acme, f"www{i}.bench.test")
            floor_times.append(time.perf_counter() - start)
        assert Certificate.objects.filter(organization=org).count() == n
    finally:
        ours.stop()
        floors.stop()
    return sum(ours_times), sum(floor_times), ours_times, floor_times


def planning(due: int, orgs: int) -> tuple[int, float, int]:
    """(queries, seconds, planned) for planning `due` due renewals spread over `orgs` orgs."""
    AcmeCertificate.objects.all().delete()
    now = timezone.now()
    made = []
    for o in range(orgs):
        org = organizations.create_organization(name=f"Plan {due} {o}", acting_user=None)
        account = accounts.create_account(
            org=org, label="CA", directory_url="https://ca.example.test/dir", acting_user=None
        )
        certs = Certificate.objects.bulk_create(
            Certificate(
                organization=org,
                label=f"C{i}",
                unique_name=f"C_{due}_{i}",
                kind=Certificate.Kind.CA_SIGNED,
                key_type="EC-P256",
                private_key=b"not read by the planning",
                not_before=now - timedelta(days=80),
                not_after=now + timedelta(days=10),
            )
            for i in range(due // orgs)
        )
        made += [
            AcmeCertificate(
                organization=org,
                certificate=cert,
                account=account,
                domains=[f"c{i}.example.test"],
                challenge="http-01",
                renew_after=now - timedelta(days=20),
            )
            for i, cert in enumerate(certs)
        ]
    AcmeCertificate.objects.bulk_create(made)
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        planned = renewal.plan_renewals(now=now)
        seconds = time.perf_counter() - start
    return len(queries), seconds, sum(len(v) for v in planned.values())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--certificates", type=int, default=50)
    args = parser.parse_args()

    q100, s100, n100 = planning(100, 10)
    q1000, s1000, n1000 = planning(1000, 10)
    assert (n100, n1000) == (100, 1000)
    print(f"backend: {_django.backend()}")
    print(f"renewal planning: 100 due in 10 orgs: {q100} query, {s100 * 1000:.1f} ms")
    print(f"renewal planning: 1,000 due in 10 orgs: {q1000} query, {s1000 * 1000:.1f} ms")
    assert q1000 == q100, "planning must not grow with what is due"

    with tempfile.TemporaryDirectory(prefix="bench-acme-") as tmp:
        ours, floor, ours_times, floor_times = issuance(args.certificates, Path(tmp))
    ratio = ours / floor
    print(f"{args.certificates} certificates from pebble (http-01), interleaved")
    print(
        f"certadmin (POST + its task):    {ours:.1f} s total, median "
        f"{statistics.median(ours_times) * 1000:.0f} ms per certificate"
    )
    print(
        f"acme library's own client:      {floor:.1f} s total, median "
        f"{statistics.median(floor_times) * 1000:.0f} ms per certificate"
    )
    print(f"goal: ratio <= {GOAL}")
    print(f"RESULT acme_issue_{args.certificates}_s={ours:.1f} floor={floor:.1f} ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
