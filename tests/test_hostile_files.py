"""Every upload path x every crafted file (tests/hostile_files.py): a clear refusal (a 400 page
with the form's message, or a command error), in bounded time, and nothing written. The file
is also read before any transaction opens. A new upload path is one line in UPLOAD_PATHS, and
a form with a FileField that is not in it fails test_every_upload_form_is_in_the_matrix."""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from django import forms
from django.apps import apps
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils.html import escape

from certadmin import keystores
from certadmin.crypto import parsing
from certadmin.forms.callout import NamedCredentialForm
from certadmin.forms.certificates import SignedCertificateUploadForm
from certadmin.forms.keystores import ImportForm
from certadmin.forms.mutual_auth import MutualAuthUploadForm
from certadmin.forms.sso import ServiceProviderForm, SsoConfigForm
from certadmin.management.commands._keystore_password import ENV_VAR
from certadmin.models import Certificate
from keys import crypto as keys_crypto
from keys.forms import ImportKeyForm
from keys.services.master_keys import destroy_master_key, ensure_master_key, rotate_master_key
from orgs.models import Organization
from tests import hostile_files
from tests.certadmin.conftest import ca_signed, self_signed
from tests.certadmin.sso_helpers import fast_rsa, rsa_certificate  # noqa: F401
from tests.conftest import grant
from tests.pem import make_certificate

#: Apps whose rows an upload may write (the audit trail is orgs.AuditEvent).
WRITTEN_APPS = ("certadmin", "keys", "orgs", "notifications")
#: Generous: the refusals cost 0.1-30 ms of parsing, the request and page around them tens of ms.
#: CPU time of this process, so other processes on a busy machine do not make it flaky.
MAX_CPU_SECONDS = 1.0

pytestmark = pytest.mark.usefixtures("fast_rsa")  # the SSO signer is an RSA key


@dataclass
class Answer:
    refused: bool
    message: str


class Victim:
    """Acme's admin alice and, made on first use, what each upload path needs."""

    def __init__(self, client: Client, org: Organization, alice: User, tmp_path: Path) -> None:
        self.client, self.org, self.alice, self.tmp_path = client, org, alice, tmp_path
        client.force_login(alice)

    @cached_property
    def awaiting(self) -> Certificate:
        return ca_signed(self.org)

    @cached_property
    def destroyed_key(self) -> int:
        ensure_master_key(org=self.org, acting_user=None)
        rotate_master_key(org=self.org, acting_user=None)
        destroy_master_key(org=self.org, version=1, confirmation="DESTROY KEY 1", acting_user=None)
        return 1

    @cached_property
    def sso_signer(self) -> Certificate:
        grant(self.org, self.alice, "customize_application")
        return rsa_certificate(self.org)

    @cached_property
    def credential_certificate(self) -> Certificate:
        grant(self.org, self.alice, "customize_application")
        return self_signed(self.org, "Outbound_Client")

    def url(self, name: str, *args: object) -> str:
        return reverse(name, args=[self.org.public_id, *args])

    def post(self, url: str, data: dict[str, Any], field: str, content: bytes) -> Answer:
        data[field] = SimpleUploadedFile("upload.bin", content)
        response = self.client.post(url, data)
        if response.status_code in (301, 302):
            return Answer(refused=False, message="")
        assert response.status_code == 400, f"{url} answered {response.status_code}"
        form = response.context["form"]
        errors = [m for field_errors in form.errors.values() for m in field_errors]
        html = response.content.decode()
        shown = [m for m in errors if escape(m) in html]
        assert shown, f"no error message shown on the page: {errors}"
        return Answer(refused=True, message=" ".join(shown))


def _signed(v: Victim, content: bytes) -> Answer:
    url = v.url("certadmin:certificate-upload-signed", v.awaiting.uuid)
    return v.post(url, {}, "certificate", content)


def _mutual_auth(v: Victim, content: bytes) -> Answer:
    data = {"label": "Hostile", "unique_name": "Hostile"}
    return v.post(v.url("certadmin:mutual-auth-upload"), data, "certificate", content)


def _keystore_page(v: Victim, content: bytes) -> Answer:
    data = {"password": hostile_files.PASSWORD}
    return v.post(v.url("certadmin:keystore-import"), data, "keystore", content)


def _keystore_command(v: Victim, content: bytes) -> Answer:
    path = v.tmp_path / "upload.bin"
    path.write_bytes(content)
    try:
        call_command("import_keystore", v.org.public_id, str(path), stdout=None)
    except CommandError as exc:
        return Answer(refused=True, message=str(exc))
    return Answer(refused=False, message="")


def _master_key(v: Victim, content: bytes) -> Answer:
    url = v.url("keys:key-import", v.destroyed_key)
    return v.post(url, {"password": "a password"}, "key_file", content)


def _sso(v: Victim, content: bytes) -> Answer:
    data = {
        "name": "Hostile",
        "issuer": "https://certadmin.example.test/acme",
        "idp_entity_id": "http://idp.example.test/1",
        "idp_login_url": "https://idp.example.test/sso",
        "request_signing_certificate": str(v.sso_signer.uuid),
        "signature_method": "RSA-SHA256",
        "assertion_decryption_certificate": "",
    }
    return v.post(v.url("certadmin:sso-create"), data, "idp_certificate", content)


def _service_provider(v: Victim, content: bytes) -> Answer:
    v.sso_signer  # noqa: B018  (grants Customize Application)
    data = {
        "name": "Hostile app",
        "entity_id": "https://app.example.test/hostile",
        "acs_url": "https://app.example.test/acs",
        "name_id_format": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        "subject": "username",
    }
    return v.post(v.url("certadmin:idp-sp-create"), data, "certificate", content)


def _named_credential(v: Victim, content: bytes) -> Answer:
    data = {
        "label": "Hostile",
        "name": "Hostile",
        "url": "https://partner.example.test/",
        "certificate": str(v.credential_certificate.uuid),
        "trust": "uploaded",
    }
    return v.post(v.url("certadmin:named-credential-create"), data, "trust_bundle", content)


@dataclass(frozen=True)
class UploadPath:
    """One way a member or an operator hands the service a file."""

    name: str
    reads: str  # what the file should be: "keystore", "certificate" or "master key"
    form: type[forms.Form] | None  # the form whose FileField this is (None: a command)
    send: Callable[[Victim, bytes], Answer]
    parser: tuple[object, str] | None  # (module, function) that reads the file for the service


UPLOAD_PATHS = [
    UploadPath(
        "signed certificate upload",
        "certificate",
        SignedCertificateUploadForm,
        _signed,
        (parsing, "parse_certificates"),
    ),
    UploadPath(
        "mutual-auth certificate upload",
        "certificate",
        MutualAuthUploadForm,
        _mutual_auth,
        (parsing, "parse_certificates"),
    ),
    UploadPath(
        "keystore import page",
        "keystore",
        ImportForm,
        _keystore_page,
        (keystores, "read_keystore"),
    ),
    UploadPath(
        "import_keystore command", "keystore", None, _keystore_command, (keystores, "read_keystore")
    ),
    UploadPath(
        "master key import", "master key", ImportKeyForm, _master_key, (keys_crypto, "import_key")
    ),
    # The SSO service re-reads the certificate its form parsed inside its transaction; that is
    # at most 20 certificates of a 1 MiB file (milliseconds), so it is not held to "outside".
    UploadPath("SSO identity provider certificate", "certificate", SsoConfigForm, _sso, None),
    # Same: the service re-reads the certificate the form parsed.
    UploadPath(
        "Identity Provider service provider certificate",
        "certificate",
        ServiceProviderForm,
        _service_provider,
        None,
    ),
    UploadPath(
        "named credential trusted CA certificates",
        "certificate",
        NamedCredentialForm,
        _named_credential,
        (parsing, "parse_certificates"),
    ),
]  # fmt: skip

#: What some refusals must say, by what the path reads (others: any message on the page).
EXPECTED = {
    ("keystore", "52,000 empty SafeContents"): "more than 64 SafeContents",
    ("keystore", "38,000 secret bags"): "more than 1000 entries",
    ("keystore", "SafeContents nested 10,000 deep"): "more than 4 levels deep",
    ("keystore", "BER nested 50,000 deep"): "more than 32 levels deep",
    ("keystore", "40,000 attributes on one bag"): "attributes of one entry: more than 16",
    ("keystore", "50,000 INTEGERs in PBE parameters"): "ASN.1 elements: more than",
    ("keystore", "2^31 MAC iterations"): "key-derivation iterations",
    ("keystore", "PKCS#12 with a 25-certificate chain"): "more than 20 certificates",
    ("keystore", "JKS with a 25-certificate chain"): "more than 20 certificates",
    ("keystore", "JKS claiming 2^30 entries"): "more than 1000 entries",
    ("keystore", "over the size cap"): "limit",
    ("certificate", "PEM chain of 25 certificates"): "more than 20 certificates",
    ("certificate", "PEM of 1,400 certificates"): "more than 20 certificates",
    ("certificate", "over the size cap"): "limit",
    ("master key", "key export with scrypt n=2^40"): "damaged",
}


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return {name: make() for name, make in hostile_files.FILES.items()}


@pytest.fixture
def victim(
    client: Client, acme: Organization, alice: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Victim:
    monkeypatch.setenv(ENV_VAR, hostile_files.PASSWORD)
    return Victim(client, acme, alice, tmp_path)


def _rows() -> dict[str, list[dict[str, Any]]]:
    """Every row of the apps an upload could write, so an UPDATE is seen as well as an INSERT."""
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for app in WRITTEN_APPS
        for model in apps.get_app_config(app).get_models()
    }


@pytest.mark.parametrize("file_name", list(hostile_files.FILES))
@pytest.mark.parametrize("path", UPLOAD_PATHS, ids=lambda p: p.name)
def test_a_crafted_file_is_refused_quickly_with_a_message_and_nothing_written(
    victim: Victim, files: dict[str, bytes], path: UploadPath, file_name: str
) -> None:
    path.send(victim, b"warm-up")  # creates what the path needs (a certificate, a key)
    before = _rows()

    started = time.process_time()
    answer = path.send(victim, files[file_name])
    cpu = time.process_time() - started

    assert answer.refused, f"{path.name} accepted {file_name}"
    assert answer.message.strip()
    if expected := EXPECTED.get((path.reads, file_name)):
        assert expected in answer.message
    assert cpu < MAX_CPU_SECONDS, f"{path.name} took {cpu:.2f} s of CPU on {file_name}"
    assert _rows() == before


@pytest.mark.parametrize("path", [p for p in UPLOAD_PATHS if p.parser], ids=lambda p: p.name)
@pytest.mark.django_db(transaction=True)
def test_the_file_is_read_before_any_transaction_opens(
    victim: Victim, path: UploadPath, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a transaction holds the one write lock: reading a costly file inside one
    stalled every other writer (issue 13: 500 "database is locked" for other requests)."""
    assert path.parser is not None
    module, name = path.parser
    real = getattr(module, name)
    in_transaction: list[bool] = []

    def spy(*args: object, **kwargs: object) -> object:
        in_transaction.append(transaction.get_connection().in_atomic_block)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    path.send(victim, _reaches_the_service(path.reads))

    assert in_transaction, f"{path.name} never read the file"
    assert not any(in_transaction)


def _reaches_the_service(reads: str) -> bytes:
    """A file the form accepts, so that the service reads it too."""
    if reads == "keystore":
        return hostile_files.many_safes_pfx()
    if reads == "certificate":
        return make_certificate(common_name="unrelated.test")[0]
    return hostile_files.key_export()


def _upload_forms() -> Iterator[type[forms.Form]]:
    get_resolver().url_patterns  # noqa: B018  (imports every view, so every form)
    pending: list[type[forms.Form]] = [forms.Form]
    while pending:
        form = pending.pop()
        pending.extend(form.__subclasses__())
        module = form.__module__.split(".")[0]
        if module in WRITTEN_APPS and any(
            isinstance(f, forms.FileField) for f in form.base_fields.values()
        ):
            yield form


def test_every_upload_form_is_in_the_matrix() -> None:
    covered = {p.form for p in UPLOAD_PATHS}

    assert set(_upload_forms()) <= covered
    assert len(covered - {None}) >= 5  # the discovery above does find the forms
