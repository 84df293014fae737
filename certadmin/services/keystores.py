"""Export and import of an org's certificates and keys as keystores (SPEC 3)."""

from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from certadmin import keystores, naming
from certadmin.crypto import display, keypairs
from certadmin.models import Certificate
from certadmin.services.certificates import PRIVATE_KEY_PURPOSE, SECTION
from keys import envelope
from orgs.models import Organization
from orgs.services.audit import record_audit
from orgs.wording import count

MIN_PASSWORD = 6
# SPEC 3 texts.
NO_PRIVATE_KEY = (
    "No certificate was imported because the keystore file doesn't contain a PrivateKey entry."
)
NOT_RSA = "The key is not an RSA key."
BAD_RSA_SIZE = "Imported keys must have a bit size of 2048, 3072, or 4096."


@dataclass(frozen=True)
class LeftOut:
    certificate: Certificate
    reason: str


@dataclass
class ExportPlan:
    included: list[Certificate]
    left_out: list[LeftOut]


def plan_export(org: Organization) -> ExportPlan:
    """Which certificates go into the keystore, and which are left out and why."""
    plan = ExportPlan([], [])
    rows = Certificate.objects.for_org(org).order_by(Lower("unique_name"))
    for certificate in rows.defer("private_key", "csr_pem", "subject_fields"):
        if not certificate.exportable:
            plan.left_out.append(LeftOut(certificate, "The private key is not exportable."))
        elif certificate.is_awaiting_signature:
            plan.left_out.append(LeftOut(certificate, "Awaiting its signed certificate."))
        else:
            plan.included.append(certificate)
    return plan


def _check_password(password: str, confirm: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(
            {"password": [f"The keystore password must have at least {MIN_PASSWORD} characters."]}
        )
    if password != confirm:
        raise ValidationError({"confirm": ["The passwords do not match."]})


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content: bytes
    content_type: str
    count: int


def _entries(org: Organization) -> list[keystores.KeyEntry]:
    ids = [c.pk for c in plan_export(org).included]
    rows = Certificate.objects.filter(pk__in=ids).order_by(Lower("unique_name"))
    entries = []
    # Keys go from their sealed blob straight into the keystore as PKCS#8 DER: no key object
    # is built, so no RSA validation is paid per key (PERFORMANCE.md: 18 s for 500 keys).
    for unique_name, blob, chain_pem in rows.values_list("unique_name", "private_key", "chain_pem"):
        der = envelope.open_sealed(bytes(blob), purpose=PRIVATE_KEY_PURPOSE)
        chain = [
            c.public_bytes(serialization.Encoding.DER)
            for c in x509.load_pem_x509_certificates(chain_pem.encode())
        ]
        entries.append(keystores.KeyEntry(unique_name.lower(), der, chain))
    return entries


def export_keystore(
    *, org: Organization, password: str, confirm: str, fmt: str = "jks", acting_user: User | None
) -> ExportFile:
    """Every exportable key with a usable chain, as `<org id>.jks` (or PKCS#12)."""
    _check_password(password, confirm)
    entries = _entries(org)
    if not entries:
        raise ValidationError(
            "No certificate can be exported: none has an exportable key and a chain."
        )
    if fmt == "jks":
        export = ExportFile(
            f"{org.public_id}.jks", keystores.write_jks(entries, password),
            "application/x-java-keystore", len(entries),
        )  # fmt: skip
    elif fmt == "p12":
        export = _pkcs12_export(org, entries, password)
    else:
        raise ValidationError({"fmt": ["Choose JKS or PKCS#12."]})
    aliases = ", ".join(e.alias for e in entries)
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="exportedKeystore",
        message=f"Exported {count(len(entries), 'certificate', 'certificates')} to keystore "
        f"{export.filename}: {aliases}",
    )
    return export


def _pkcs12_export(
    org: Organization, entries: list[keystores.KeyEntry], password: str
) -> ExportFile:
    """`<org id>.p12`: one PKCS#12 holding every key with its chain, named by its alias."""
    return ExportFile(
        f"{org.public_id}.p12", keystores.write_pkcs12(entries, password),
        "application/x-pkcs12", len(entries),
    )  # fmt: skip


@dataclass
class ImportResult:
    imported: list[Certificate] = field(default_factory=list)
    skipped: list[keystores.SkippedEntry] = field(default_factory=list)
    store_type: str = ""


def _key_type(alias: str, key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size not in (2048, 3072, 4096):
            raise ValidationError(f"{BAD_RSA_SIZE} The key '{alias}' has {key.key_size} bits.")
    elif not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValidationError(f"{NOT_RSA} ('{alias}')")
    key_type = keypairs.key_type_of(key.public_key())
    if key_type is None:
        raise ValidationError(
            f"{NOT_RSA} The key '{alias}' is an elliptic-curve key on a curve other than "
            "P-256 or P-384, which are the only ones supported."
        )
    return key_type


def _alias_problem(alias: str) -> str:
    """Why `alias` cannot become a Unique Name, or "" (uniqueness is checked on writing)."""
    name = naming.unique_name_from(alias)
    if not name or naming.unique_name_problems(name):
        return (
            f"The alias '{alias}' cannot be made a valid Unique Name (letters, digits and "
            "underscores, beginning with a letter)."
        )
    return ""


def _unique_name(alias: str, taken: set[str]) -> str:
    name = naming.unique_name_from(alias)
    if name.lower() in taken:
        raise ValidationError(
            f"The alias '{alias}' becomes the Unique Name {name}, which another certificate "
            "already has. Rename that certificate or the alias, then import again."
        )
    taken.add(name.lower())
    return name


def import_keystore(
    *, org: Organization, data: bytes, password: str, acting_user: User | None
) -> ImportResult:
    """Import every PrivateKeyEntry of a JKS, JCEKS or PKCS#12 store as a certificate.

    All entries or none: any refused entry raises ValidationError and nothing is saved.
    The store is read and every key checked before the transaction opens, so a costly file
    never holds the database's write lock (on SQLite, the only one).
    """
    try:
        contents = keystores.read_keystore(
            data,
            password,
            max_bytes=settings.CERTADMIN_UPLOAD_MAX_BYTES,
            max_entries=settings.CERTADMIN_KEYSTORE_MAX_ENTRIES,
        )
    except keystores.KeystoreError as exc:
        raise ValidationError(str(exc)) from exc
    if not contents.keys:
        raise ValidationError(NO_PRIVATE_KEY)
    _check_aliases_differ(contents.keys)
    now = timezone.now()
    rows = [_new_row(org, entry, acting_user, now) for entry in contents.keys]
    with transaction.atomic():
        taken = {
            name.lower()
            for name in Certificate.objects.for_org(org).values_list("unique_name", flat=True)
        }
        for row, entry in zip(rows, contents.keys, strict=True):
            row.unique_name = _unique_name(entry.alias, taken)
        Certificate.objects.bulk_create(rows, batch_size=500)
        record_audit(
            org=org,
            acting_user=acting_user,
            section=SECTION,
            action="importedKeystore",
            message=_import_message(rows, contents),
        )
    imported = list(
        Certificate.objects.for_org(org)
        .filter(unique_name__in=[r.unique_name for r in rows])
        .select_related("organization")
        .defer("private_key", "chain_pem", "csr_pem")
        .order_by("unique_name")
    )
    return ImportResult(imported, contents.skipped, contents.store_type)


def _check_aliases_differ(entries: list[keystores.ImportedKey]) -> None:
    """Refuse a store two of whose aliases become the same Unique Name (ignoring case)."""
    seen: dict[str, str] = {}
    for entry in entries:
        name = naming.unique_name_from(entry.alias)
        if not name:
            continue  # refused with its own message (_alias_problem)
        first = seen.setdefault(name.lower(), entry.alias)
        if first != entry.alias:
            raise ValidationError(
                f"The aliases '{first}' and '{entry.alias}' both become the Unique Name "
                f"{name}. Rename one of them in the keystore, then import again."
            )


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _import_message(rows: list[Certificate], contents: keystores.KeystoreContents) -> str:
    """The audit entry: what was imported, and what was skipped, each by name."""
    names = ", ".join(r.unique_name for r in rows)
    message = (
        f"Imported {_plural(len(rows), 'certificate', 'certificates')} from a "
        f"{contents.store_type} keystore: {names}"
    )
    if contents.skipped:
        skipped = ", ".join(f"{e.alias} ({e.kind})" for e in contents.skipped)
        message += f"; skipped {_plural(len(contents.skipped), 'entry', 'entries')}: {skipped}"
    return message


def _new_row(
    org: Organization, entry: keystores.ImportedKey, acting_user: User | None, now: datetime
) -> Certificate:
    """The certificate row of a checked entry; its Unique Name is given in the transaction."""
    key_type = _key_type(entry.alias, entry.private_key)
    naming_problem = _alias_problem(entry.alias)
    if naming_problem:
        raise ValidationError(naming_problem)
    leaf = entry.chain[0]
    facts = display.describe(leaf)
    der = entry.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    return Certificate(
        organization=org,
        label=entry.alias[: naming.MAX_LABEL],
        kind=Certificate.Kind.SELF_SIGNED if facts.is_self_issued else Certificate.Kind.CA_SIGNED,
        key_type=key_type,
        exportable=True,
        private_key=envelope.seal(der, purpose=PRIVATE_KEY_PURPOSE),
        chain_pem=display.chain_pem(entry.chain),
        subject=facts.subject,
        issuer=facts.issuer,
        serial=facts.serial,
        fingerprint_sha256=display.fingerprint_hex(leaf),
        not_before=facts.not_before,
        not_after=facts.not_after,
        created_at=now,
        modified_at=now,
        created_by=acting_user,
        modified_by=acting_user,
    )
