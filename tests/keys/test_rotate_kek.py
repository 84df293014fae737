import base64
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from certadmin.models import Certificate
from certadmin.services.certificates import load_private_key, private_key_der
from keys import envelope
from orgs.models import Organization
from tests.certadmin.conftest import self_signed

OLD = base64.b64encode(b"o" * 32).decode()
NEW = base64.b64encode(b"n" * 32).decode()


def test_rotate_kek_rewraps_every_private_key_and_the_old_kek_can_go(
    acme: Organization, settings: object
) -> None:
    # Secrets made by migrations (the retired proxy certificate) are sealed under the test KEK:
    # it stays configured (last), like any other old KEK an operator keeps until rotation ends.
    test_kek = settings.CERTADMIN_KEKS[0]  # type: ignore[attr-defined]
    with override_settings(CERTADMIN_KEKS=[OLD]):
        first, second = self_signed(acme, name="First"), self_signed(acme, name="Second")
        keys_before = {c.pk: private_key_der(c) for c in (first, second)}

    with override_settings(CERTADMIN_KEKS=[NEW, OLD, test_kek]):
        out = StringIO()
        call_command("rotate_kek", stdout=out)
        again = StringIO()
        call_command("rotate_kek", stdout=again)

    assert "certadmin.Certificate.private_key: 2 rewrapped" in out.getvalue()
    assert "certadmin.Certificate.private_key: 0 rewrapped, 2 already" in again.getvalue()
    with override_settings(CERTADMIN_KEKS=[NEW]):
        for certificate in Certificate.objects.filter(pk__in=keys_before):
            assert private_key_der(certificate) == keys_before[certificate.pk]
            load_private_key(certificate)


def test_without_the_kek_the_database_alone_opens_nothing(acme: Organization) -> None:
    with override_settings(CERTADMIN_KEKS=[OLD]):
        certificate = self_signed(acme)

    with override_settings(CERTADMIN_KEKS=[NEW]), pytest.raises(envelope.SealedDataError):
        load_private_key(Certificate.objects.get(pk=certificate.pk))


@pytest.mark.django_db(transaction=True)
def test_database_file_holds_no_plaintext_private_key(tmp_path: Path) -> None:
    """Dump the whole database (SQLite file bytes or pg_dump) and look for the key's bytes."""
    from orgs.services.organizations import create_organization

    org = create_organization(name="Dump Test", acting_user=None)
    certificate = self_signed(org, key_type="RSA-2048")
    der = private_key_der(certificate)
    pem_body = base64.b64encode(der)[:64]

    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(settings_dict["NAME"])
        if "memory" in name or name == "":
            dump = tmp_path / "copy.sqlite3"
            connection.cursor().execute(f"VACUUM INTO '{dump}'")
            raw = dump.read_bytes()
        else:
            raw = Path(name).read_bytes()
    else:
        raw = subprocess.run(
            ["pg_dump", "-h", str(settings_dict["HOST"] or "127.0.0.1"), "-U",
             str(settings_dict["USER"]), "-p", str(settings_dict["PORT"] or 5432),
             str(settings_dict["NAME"])],
            capture_output=True, check=True,
        ).stdout  # fmt: skip

    assert der[:200] not in raw
    assert der[-64:] not in raw
    assert pem_body not in raw
    assert der.hex()[:128].encode() not in raw  # bytea appears hex-encoded in pg_dump
    assert b"Dump Test" in raw  # the dump is real: it holds the org's name
