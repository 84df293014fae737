"""dns-01 TXT records: written by RFC 2136 dynamic update (TSIG-signed, dnspython), or checked
with a resolver before the CA is told (the manual step)."""

from collections.abc import Sequence

import dns.exception
import dns.name
import dns.query
import dns.rcode
import dns.resolver
import dns.tsigkeyring
import dns.update
from django.conf import settings

from certadmin import acme_client
from certadmin.models import AcmeAccount
from certadmin.services.acme.accounts import TSIG_PURPOSE, open_text

TTL = 60


def _update(account: AcmeAccount, records: Sequence[tuple[str, str]], *, add: bool) -> None:
    keyring = dns.tsigkeyring.from_text(
        {account.tsig_key_name: open_text(account.tsig_secret, TSIG_PURPOSE)}
    )
    zone = dns.name.from_text(account.dns_zone)
    update = dns.update.UpdateMessage(
        zone,
        keyring=keyring,
        keyname=dns.name.from_text(account.tsig_key_name),
        keyalgorithm=account.tsig_algorithm,
    )
    for name, value in records:
        fqdn = dns.name.from_text(name)
        if not fqdn.is_subdomain(zone):
            raise acme_client.AcmeProblem(
                f"{name} is not in the DNS zone {account.dns_zone} of account {account.label}.",
                code="dns",
                retry=False,
            )
        if add:
            update.add(fqdn, TTL, "TXT", f'"{value}"')
        else:
            update.delete(fqdn, "TXT", f'"{value}"')
    try:
        response = dns.query.tcp(update, account.dns_server, port=account.dns_port, timeout=10)
    except (OSError, EOFError, dns.exception.DNSException) as exc:
        raise acme_client.AcmeProblem(
            f"The DNS update server {account.dns_server}:{account.dns_port} failed "
            f"({exc or 'it closed the connection: is the TSIG key right?'}).",
            code="dns",
        ) from exc
    if response.rcode() != dns.rcode.NOERROR:
        raise acme_client.AcmeProblem(
            f"The DNS update server refused the update ({dns.rcode.to_text(response.rcode())}).",
            code="dns",
        )


def publish(account: AcmeAccount, records: Sequence[tuple[str, str]]) -> None:
    """Add the TXT records (name, value) through the account's RFC 2136 server."""
    if not account.has_rfc2136:
        raise acme_client.AcmeProblem(
            f"The ACME account {account.label} has no DNS update server: set one, or choose "
            "the manual dns-01 step.",
            code="dns",
            retry=False,
        )
    _update(account, records, add=True)


def withdraw(account: AcmeAccount, records: Sequence[tuple[str, str]]) -> None:
    """Remove the TXT records again (after the order, whatever its outcome)."""
    _update(account, records, add=False)


def _resolver() -> dns.resolver.Resolver:
    servers = settings.CERTADMIN_ACME_DNS_RESOLVERS
    if not servers:
        return dns.resolver.Resolver()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [s.rsplit(":", 1)[0] if s.count(":") == 1 else s for s in servers]
    ports = {s.rsplit(":", 1)[1] for s in servers if s.count(":") == 1}
    if ports:
        resolver.port = int(ports.pop())
    return resolver


def missing(records: Sequence[tuple[str, str]]) -> list[str]:
    """The records (name, value) a resolver does not find yet, in words."""
    resolver = _resolver()
    problems = []
    for name, value in records:
        try:
            answer = resolver.resolve(name, "TXT", lifetime=5)
            found = {b"".join(r.strings).decode(errors="replace") for r in answer}
        except (dns.exception.DNSException, OSError):
            found = set()
        if value not in found:
            problems.append(f'{name} TXT "{value}" is not published yet')
    return problems
