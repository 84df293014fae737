"""Services of the keys app: the KEK rewrap, master keys, encrypted Contact fields, and the
re-encryption job.

Every write records a Setup Audit Trail line; none of them ever carries key material, a
password or an encrypted value.
"""

import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.tasks import async_task

from keys import crypto, envelope, keyring
from keys.fields import EncryptedTextField, SealedBinaryField
from keys.models import Contact, ContactField, ContactFieldValue, MasterKey, ReencryptionJob
from orgs.models import Organization
from orgs.services import Actor, record_audit

log = logging.getLogger(__name__)

KEYS_SECTION = "Manage Encryption Keys"
FIELDS_SECTION = "Customize Contacts"
CONTACTS_SECTION = "Contacts"
LEASE = timedelta(seconds=60)  # a running job renews it with every batch
BATCH_SIZE = 2000
# scrypt cost of key export files (the import reads it from the file). Tests lower it.
EXPORT_SCRYPT_N = crypto.DEFAULT_SCRYPT_N


# --- KEK rewrap (manage.py rotate_kek) ---------------------------------------------------


@dataclass
class RewrapReport:
    field: str
    rewrapped: int
    already_current: int


def sealed_fields() -> list[SealedBinaryField]:
    """Every SealedBinaryField of every installed model."""
    return [
        field
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, SealedBinaryField)
    ]


def rewrap_all_secrets(*, batch_size: int = 500) -> list[RewrapReport]:
    """Rewrap every sealed blob whose data key is not wrapped by the primary KEK.

    Idempotent and resumable: each row is updated on its own, only if its blob is still the
    one that was read (a concurrent write wins and is already current).
    """
    reports = []
    for field in sealed_fields():
        model, name = field.model, field.name
        rewrapped = current = 0
        last_pk = None
        while True:
            rows = model._default_manager.exclude(**{f"{name}__isnull": True}).order_by("pk")
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            batch = list(rows.values_list("pk", name)[:batch_size])
            if not batch:
                break
            with transaction.atomic():
                for pk, blob in batch:
                    if envelope.is_current(blob):
                        current += 1
                        continue
                    new = envelope.rewrap(blob, purpose=field.purpose)
                    rewrapped += model._default_manager.filter(pk=pk, **{name: blob}).update(
                        **{name: new}
                    )
            last_pk = batch[-1][0]
        reports.append(RewrapReport(field.purpose, rewrapped, current))
    return reports


# --- Encrypted columns ---------------------------------------------------------------------


@dataclass(frozen=True)
class EncryptedColumn:
    """One EncryptedTextField of one model, with the column names raw SQL needs."""

    field: EncryptedTextField

    @property
    def model(self) -> type[models.Model]:
        return self.field.model

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def version_name(self) -> str:
        version_field = self.field.version_field()
        if version_field is None:  # refused by the field's system check
            raise LookupError(f"{self.field.purpose} has no key version column")
        return version_field.name

    def for_org(self, org_id: int) -> models.QuerySet[Any]:
        return self.model._default_manager.filter(**{self.field.org_attname: org_id})


def encrypted_columns() -> list[EncryptedColumn]:
    """Every EncryptedTextField of every installed model."""
    return [
        EncryptedColumn(field)
        for model in apps.get_models()
        for field in model._meta.local_fields
        if isinstance(field, EncryptedTextField)
    ]


def values_per_key(org: Organization) -> dict[int, int]:
    """{key version: number of values encrypted under it}, one GROUP BY per encrypted column."""
    counts: dict[int, int] = {}
    for column in encrypted_columns():
        rows = (
            column.for_org(org.pk)
            .order_by()
            .values_list(column.version_name)
            .annotate(n=Count("pk"))
        )
        for version, n in rows:
            counts[version] = counts.get(version, 0) + n
    return counts


# --- Master keys ---------------------------------------------------------------------------


def _actor_name(acting_user: Actor) -> str:
    return acting_user.get_username() if isinstance(acting_user, User) else "system"


def _new_key(*, org: Organization, version: int, acting_user: Actor) -> MasterKey:
    material = crypto.generate_master_key()
    key = MasterKey(
        organization=org,
        version=version,
        material=envelope.seal(material, purpose=keyring.material_purpose()),
        kcv=crypto.key_check_value(material),
        created_by=_actor_name(acting_user),
    )
    key.full_clean(validate_constraints=False)  # the database checks them on insert
    key.save()
    return key


def _org_keys_locked(org: Organization) -> list[MasterKey]:
    """The org's keys, locked for the rest of the transaction where the database can."""
    return list(MasterKey.objects.select_for_update().filter(organization=org).order_by("version"))


@transaction.atomic
def ensure_master_key(*, org: Organization, acting_user: Actor) -> MasterKey:
    """The org's active key, created (as key 1) if the org has none yet."""
    keys = _org_keys_locked(org)
    active = next((k for k in keys if k.is_active), None)
    if active is not None:
        return active
    if keys:  # only possible if someone edited the table by hand
        raise ValidationError("This org has master keys but none is active.")
    key = _new_key(org=org, version=1, acting_user=acting_user)
    record_audit(
        org=org,
        acting_user=acting_user,
        section=KEYS_SECTION,
        action="createdMasterKey",
        message="Created master encryption key 1 (AES-256)",
    )
    return key


@transaction.atomic
def rotate_master_key(*, org: Organization, acting_user: Actor) -> MasterKey:
    """Archive the active key and create the next one, which becomes active."""
    keys = _org_keys_locked(org)
    active = next((k for k in keys if k.is_active), None)
    if active is None:
        raise ValidationError(
            "This org has no master key yet: it is created with the first encrypted field."
        )
    now = timezone.now()
    active.state, active.archived_at = MasterKey.State.ARCHIVED, now
    active.save(update_fields=["state", "archived_at"])
    try:
        with transaction.atomic():
            key = _new_key(org=org, version=keys[-1].version + 1, acting_user=acting_user)
    except IntegrityError as exc:  # another admin rotated at the same moment
        raise ValidationError("The keys changed while you were working; try again.") from exc
    record_audit(
        org=org,
        acting_user=acting_user,
        section=KEYS_SECTION,
        action="rotatedMasterKey",
        message=f"Archived master encryption key {active.version} and created key {key.version}",
    )
    return key


def _get_key(org: Organization, version: int) -> MasterKey:
    try:
        return MasterKey.objects.get(organization=org, version=version)
    except MasterKey.DoesNotExist:
        raise ValidationError(f"This org has no master key {version}.") from None


def export_filename(org: Organization, version: int) -> str:
    return f"MasterKey_{org.public_id}_v{version}.txt"


def export_master_key(*, org: Organization, version: int, password: str, acting_user: Actor) -> str:
    """The export file of an archived key: the key wrapped under `password` (text)."""
    key = _get_key(org, version)
    if not key.is_archived:
        raise ValidationError(
            f"Only archived keys can be exported; key {version} is {key.get_state_display()}."
        )
    material = keyring.unwrap(bytes(key.material), kcv=key.kcv)  # type: ignore[arg-type]
    text = crypto.export_key(
        key=material,
        org_public_id=org.public_id,
        version=version,
        password=password,
        scrypt_n=EXPORT_SCRYPT_N,
    )
    record_audit(
        org=org,
        acting_user=acting_user,
        section=KEYS_SECTION,
        action="exportedMasterKey",
        message=f"Exported master encryption key {version} (password-protected file)",
    )
    return text


def destroy_phrase(version: int) -> str:
    return f"DESTROY KEY {version}"


@transaction.atomic
def destroy_master_key(
    *, org: Organization, version: int, confirmation: str, acting_user: Actor
) -> int:
    """Destroy an archived key's material. Return how many values became unavailable."""
    locked = {k.version: k for k in _org_keys_locked(org)}
    key = locked.get(version)
    if key is None:
        raise ValidationError(f"This org has no master key {version}.")
    if not key.is_archived:
        raise ValidationError(
            f"Only archived keys can be destroyed; key {version} is {key.get_state_display()}."
        )
    if " ".join(confirmation.split()).upper() != destroy_phrase(version):
        raise ValidationError(
            {"confirmation": f"Type {destroy_phrase(version)} to confirm."}, code="confirm"
        )
    lost = values_per_key(org).get(version, 0)
    key.state, key.material, key.destroyed_at = MasterKey.State.DESTROYED, None, timezone.now()
    key.save(update_fields=["state", "material", "destroyed_at"])
    transaction.on_commit(lambda: keyring.forget(org.pk, version))
    record_audit(
        org=org,
        acting_user=acting_user,
        section=KEYS_SECTION,
        action="destroyedMasterKey",
        message=f"Destroyed master encryption key {version}; {lost} value(s) became unavailable",
    )
    return lost


def import_master_key(
    *, org: Organization, version: int, text: str, password: str, acting_user: Actor
) -> MasterKey:
    """Bring a destroyed key back from its export file; it returns as Archived.

    Refused (ValidationError with the reason) for a wrong password, a damaged file, or a
    file holding another org's key or another key of this org. The file is unwrapped (scrypt,
    up to 128 MiB and a second) before the transaction opens; the key's state is checked
    again under the lock.
    """
    key = _destroyed_key(MasterKey.objects.filter(organization=org, version=version), version)
    try:
        material = crypto.import_key(
            text,
            password=password,
            expected_org_public_id=org.public_id,
            expected_version=version,
            expected_kcv=key.kcv,
        )
    except crypto.KeyImportError as exc:
        raise ValidationError(str(exc), code="import") from None
    with transaction.atomic():
        key = _destroyed_key(_org_keys_locked(org), version)  # imported meanwhile: refused
        key.state, key.imported_at = MasterKey.State.ARCHIVED, timezone.now()
        key.material = envelope.seal(material, purpose=keyring.material_purpose())
        key.save(update_fields=["state", "material", "imported_at"])
        record_audit(
            org=org,
            acting_user=acting_user,
            section=KEYS_SECTION,
            action="importedMasterKey",
            message=f"Imported master encryption key {version} from its export file; "
            "it is archived",
        )
    return key


def _destroyed_key(keys: Iterable[MasterKey], version: int) -> MasterKey:
    key = next((k for k in keys if k.version == version), None)
    if key is None:
        raise ValidationError(f"This org has no master key {version}.")
    if not key.is_destroyed:
        raise ValidationError(
            f"Only destroyed keys can be imported; key {version} is {key.get_state_display()}."
        )
    return key


# --- Encrypted custom fields and contacts --------------------------------------------------


@transaction.atomic
def create_contact_field(
    *,
    org: Organization,
    label: str,
    api_name: str,
    mask_type: str,
    mask_char: str,
    acting_user: Actor,
    length: int = 175,
    help_text: str = "",
) -> ContactField:
    """Define a "Text (Encrypted)" field on the org's contacts; the org's first master key
    is created with its first encrypted field."""
    if ContactField.objects.filter(organization=org, api_name__iexact=api_name).exists():
        raise ValidationError({"api_name": "A field with this API Name already exists."})
    contact_field = ContactField(
        organization=org,
        label=label,
        api_name=api_name,
        length=length,
        mask_type=mask_type,
        mask_char=mask_char,
        help_text=help_text,
        created_by=_actor_name(acting_user),
    )
    contact_field.full_clean()
    contact_field.save()
    ensure_master_key(org=org, acting_user=acting_user)
    record_audit(
        org=org,
        acting_user=acting_user,
        section=FIELDS_SECTION,
        action="createdEncryptedField",
        message=f"Created Text (Encrypted) field {label} ({api_name}) on Contact, "
        f"mask {contact_field.get_mask_type_display()} with {mask_char}",
    )
    return contact_field


@transaction.atomic
def update_contact_field(
    *,
    contact_field: ContactField,
    label: str,
    mask_type: str,
    mask_char: str,
    acting_user: Actor,
    help_text: str = "",
) -> None:
    """Change a field's label, help text or mask (the API Name and length stay)."""
    contact_field.label, contact_field.help_text = label, help_text
    contact_field.mask_type, contact_field.mask_char = mask_type, mask_char
    contact_field.full_clean()
    contact_field.save(update_fields=["label", "help_text", "mask_type", "mask_char"])
    record_audit(
        org=contact_field.organization,
        acting_user=acting_user,
        section=FIELDS_SECTION,
        action="changedEncryptedField",
        message=f"Changed Text (Encrypted) field {label} ({contact_field.api_name}): "
        f"mask {contact_field.get_mask_type_display()} with {mask_char}",
    )


@transaction.atomic
def save_contact(
    *,
    org: Organization,
    contact: Contact | None,
    first_name: str,
    last_name: str,
    email: str,
    values: Mapping[ContactField, str | None],
    acting_user: Actor,
) -> Contact:
    """Create (contact=None) or update a contact and its encrypted values.

    `values` maps a field to its new plaintext; "" removes the value and None keeps it as it
    is. Values are written under the org's active key.
    """
    actor = _actor_name(acting_user)
    now = timezone.now()
    created = contact is None
    if contact is None:
        contact = Contact(organization=org, created_by=actor, created_at=now)
    elif contact.organization_id != org.pk:
        raise ValidationError("That contact belongs to another org.")
    contact.first_name, contact.last_name, contact.email = first_name, last_name, email
    contact.updated_by, contact.updated_at = actor, now
    contact.full_clean()
    contact.save()

    changed = []
    existing = {v.field_id: v for v in contact.values.all()} if not created else {}
    for contact_field, plain in values.items():
        if contact_field.organization_id != org.pk:
            raise ValidationError("That field belongs to another org.")
        if plain is None:
            continue
        current = existing.get(contact_field.pk)
        if plain == "":
            if current is not None:
                current.delete()
                changed.append(contact_field.api_name)
            continue
        if len(plain) > contact_field.length:
            raise ValidationError(
                {contact_field.api_name: f"At most {contact_field.length} characters."}
            )
        row = current or ContactFieldValue(contact=contact, field=contact_field, organization=org)
        row.value = plain
        row.save()
        changed.append(contact_field.api_name)

    what = "Created" if created else "Changed"
    detail = f" ({', '.join(changed)})" if changed else ""
    record_audit(
        org=org,
        acting_user=acting_user,
        section=CONTACTS_SECTION,
        action="createdContact" if created else "changedContact",
        message=f"{what} contact {contact.name}{detail}",
    )
    return contact


@transaction.atomic
def delete_contact(*, contact: Contact, acting_user: Actor) -> None:
    name, org = contact.name, contact.organization
    contact.delete()
    record_audit(
        org=org,
        acting_user=acting_user,
        section=CONTACTS_SECTION,
        action="deletedContact",
        message=f"Deleted contact {name}",
    )


@dataclass
class ContactRow:
    """A contact with its encrypted values as the viewer may see them (clear or masked)."""

    contact: Contact
    cells: list[str]


def present_contacts(
    contacts: Iterable[Contact],
    fields: list[ContactField],
    *,
    ring: keyring.Keyring,
    clear: bool,
) -> Iterable[ContactRow]:
    """One row per contact, one cell per field ("" when empty). Contacts must come with
    their `values` prefetched; nothing here queries except key material on a cache miss."""
    by_id = {f.pk: f for f in fields}
    for contact in contacts:
        cells = {}
        for value in contact.values.all():
            value.field = by_id[value.field_id]  # already loaded: no query for the mask
            cells[value.field_id] = value.value.display(clear=clear, ring=ring)
        yield ContactRow(contact, [cells.get(f.pk, "") for f in fields])


# --- Re-encryption -------------------------------------------------------------------------


class ReencryptionBusy(ValidationError):
    """Another worker holds this org's re-encryption."""


class _LostClaim(Exception):
    """The job's lease was taken over by another worker: stop without writing."""


class _OutOfTime(Exception):
    """The run used its time budget: hand the job back to the queue."""


def _claimant() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _claimant_gone(claimed_by: str) -> bool:
    """Is the claimant a process of this host that no longer exists (e.g. killed -9)?"""
    host, _, rest = claimed_by.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _claimable(job: ReencryptionJob, now: datetime) -> bool:
    return (
        job.state == ReencryptionJob.State.QUEUED
        or job.lease_expired(now)
        or _claimant_gone(job.claimed_by)
    )


def pending_values(org: Organization, ring: keyring.Keyring | None = None) -> dict[int, int]:
    """{version: values} still on a key other than the active one, for keys that can
    decrypt (values under destroyed keys cannot move)."""
    ring = ring or keyring.Keyring.load(org.pk)
    return {
        version: n
        for version, n in values_per_key(org).items()
        if version != ring.active_version and ring.usable(version)
    }


@transaction.atomic
def start_reencryption(
    *, org: Organization, acting_user: Actor, enqueue: bool = True
) -> ReencryptionJob:
    """Queue "Re-encrypt all data now" for the org: every value moves to the active key.

    Refused while another worker is running it. A queued job, or one whose worker died, is
    queued again rather than duplicated.
    """
    ring = keyring.Keyring.load(org.pk)
    if ring.active_version is None:
        raise ValidationError("This org has no master key yet.")
    now = timezone.now()
    job = (
        ReencryptionJob.objects.select_for_update()
        .filter(organization=org, state__in=[ReencryptionJob.State.QUEUED, "running"])
        .first()
    )
    if job is not None and not _claimable(job, now):
        raise ReencryptionBusy("A re-encryption of this org's data is already running.")
    if job is None:
        try:
            with transaction.atomic():
                job = ReencryptionJob.objects.create(
                    organization=org, requested_by=_actor_name(acting_user), created_at=now
                )
        except IntegrityError as exc:  # someone queued one at the same moment
            raise ReencryptionBusy("A re-encryption of this org's data is already queued.") from exc
        record_audit(
            org=org,
            acting_user=acting_user,
            section=KEYS_SECTION,
            action="startedReencryption",
            message=f"Started re-encrypting all data with master encryption key "
            f"{ring.active_version}",
        )
    if enqueue:
        job_id = job.pk
        transaction.on_commit(lambda: async_task("keys.tasks.reencrypt_org", job_id))
    return job


def _claim(job_id: int, token: str) -> ReencryptionJob | None:
    """Take the job for this worker, or None if it is finished. Raises ReencryptionBusy."""
    job = ReencryptionJob.objects.select_related("organization").get(pk=job_id)
    if job.is_finished:
        return None
    now = timezone.now()
    if not _claimable(job, now):
        raise ReencryptionBusy("Another worker is running this re-encryption.")
    pending = sum(pending_values(job.organization).values())
    won = ReencryptionJob.objects.filter(
        pk=job.pk, state=job.state, claimed_by=job.claimed_by
    ).update(
        state=ReencryptionJob.State.RUNNING,
        claimed_by=token,
        lease_until=now + LEASE,
        started_at=Coalesce("started_at", models.Value(now)),
        total=F("moved") + pending,
        attempts=F("attempts") + 1,
    )
    if not won:
        raise ReencryptionBusy("Another worker took this re-encryption first.")
    job.refresh_from_db()
    return job


ProgressCallback = Callable[[ReencryptionJob], None]


def run_reencryption(
    *,
    job_id: int,
    batch_size: int = BATCH_SIZE,
    pause: float = 0.0,
    on_batch: ProgressCallback | None = None,
    time_budget: float | None = None,
) -> ReencryptionJob:
    """Move every value of the job's org to the active key, in batches.

    With `time_budget` (seconds), the run stops after the batch that exceeds it and puts the
    job back in the queue (state Queued) for another run to continue; the django-q2 task
    uses this to stay far below the cluster's task timeout on large orgs.

    Each batch is one transaction: the new tokens and the job's progress and lease commit
    together, so a crash loses at most the batch in flight, and a restart continues with
    the values still on old keys. A row is rewritten only if it still holds the token that
    was read, so a user's concurrent edit always wins. Values under destroyed keys stay as
    they are (reported), and a value that fails to decrypt is never touched.
    """
    token = _claimant()
    job = _claim(job_id, token)
    if job is None:
        return ReencryptionJob.objects.get(pk=job_id)
    org = job.organization
    deadline = None if time_budget is None else time.monotonic() + time_budget
    try:
        moved, failed = _reencrypt(
            job, token, batch_size=batch_size, pause=pause, cb=on_batch, deadline=deadline
        )
    except _LostClaim:
        return ReencryptionJob.objects.get(pk=job_id)
    except _OutOfTime:
        ReencryptionJob.objects.filter(pk=job.pk, claimed_by=token).update(
            state=ReencryptionJob.State.QUEUED, claimed_by="", lease_until=None
        )
        return ReencryptionJob.objects.get(pk=job_id)
    except Exception as exc:
        ReencryptionJob.objects.filter(pk=job.pk, claimed_by=token).update(
            state=ReencryptionJob.State.FAILED,
            finished_at=timezone.now(),
            lease_until=None,
            message=f"Stopped by an error ({type(exc).__name__}); run it again to resume.",
        )
        record_audit(
            org=org,
            acting_user=None,
            section=KEYS_SECTION,
            action="failedReencryption",
            message=f"Re-encryption stopped by an error ({type(exc).__name__})",
        )
        raise
    ring = keyring.Keyring.load(org.pk)
    counts = values_per_key(org)
    stranded = sum(n for v, n in counts.items() if not ring.usable(v))
    summary = f"{moved} value(s) re-encrypted with key {ring.active_version}"
    if failed:
        summary += f"; {failed} value(s) could not be decrypted and were left as they are"
    if stranded:
        summary += f"; {stranded} value(s) remain under destroyed keys"
    ReencryptionJob.objects.filter(pk=job.pk, claimed_by=token).update(
        state=ReencryptionJob.State.DONE,
        finished_at=timezone.now(),
        lease_until=None,
        message=summary[:255],
    )
    record_audit(
        org=org,
        acting_user=None,
        section=KEYS_SECTION,
        action="finishedReencryption",
        message=f"Re-encryption finished: {summary}",
    )
    return ReencryptionJob.objects.get(pk=job_id)


_MAX_PASSES = 5  # a pass moves everything; more only if admins rotate during the run


def _reencrypt(
    job: ReencryptionJob,
    token: str,
    *,
    batch_size: int,
    pause: float,
    cb: ProgressCallback | None,
    deadline: float | None,
) -> tuple[int, int]:
    org_id = job.organization_id
    moved = 0
    failed: set[tuple[str, int]] = set()  # (table, id) of values that do not decrypt
    for _ in range(_MAX_PASSES):
        moved_this_pass = 0
        ring = keyring.Keyring.load(org_id)
        for column in encrypted_columns():
            versions = (
                column.for_org(org_id)
                .exclude(**{column.version_name: ring.active_version})
                .order_by()
                .values_list(column.version_name, flat=True)
                .distinct()
            )
            for version in sorted(v for v in versions if ring.usable(v)):
                moved_this_pass += _move_version(
                    job,
                    token,
                    column,
                    version,
                    failed,
                    batch_size=batch_size,
                    pause=pause,
                    cb=cb,
                    deadline=deadline,
                )
        moved += moved_this_pass
        if not moved_this_pass:
            break
    return moved, len(failed)


def _move_version(
    job: ReencryptionJob,
    token: str,
    column: EncryptedColumn,
    version: int,
    failed: set[tuple[str, int]],
    *,
    batch_size: int,
    pause: float,
    cb: ProgressCallback | None,
    deadline: float | None,
) -> int:
    """Move one key's values of one column, walking them by id (an index range scan).
    Values that do not decrypt are added to `failed` and left as they are."""
    org_id = job.organization_id
    aad = column.field.aad(org_id)
    qn = connection.ops.quote_name
    select = (
        f"SELECT {qn(column.model._meta.pk.column)}, {qn(column.field.column)} "
        f"FROM {qn(column.table)} WHERE {qn(column.field.org_attname)} = %s "
        f"AND {qn(column.version_name)} = %s AND {qn(column.model._meta.pk.column)} > %s "
        f"ORDER BY {qn(column.model._meta.pk.column)} LIMIT %s"
    )
    moved = 0
    last_id = 0
    while True:
        # The keys' states are read again for every batch: a key destroyed or a new key
        # made active during the run is honoured at once.
        ring = keyring.Keyring.load(org_id)
        target = ring.active_version
        if target is None or target == version or not ring.usable(version):
            break
        with connection.cursor() as cursor:
            cursor.execute(select, [org_id, version, last_id, batch_size])
            rows = cursor.fetchall()
        if not rows:
            break
        last_id = rows[-1][0]
        rotator = keyring.TokenRotator(
            old_key=ring.material(version),
            old_version=version,
            new_key=ring.material(target),
            new_version=target,
            aad=aad,
        )
        updates, bad = rotator.rotate_batch(rows)
        for pk in bad:
            failed.add((column.table, pk))
            log.error("value %s of %s does not decrypt; left as it is", pk, column.table)
        with transaction.atomic():
            written = _write_tokens(column, updates)
            renewed = ReencryptionJob.objects.filter(pk=job.pk, claimed_by=token).update(
                moved=F("moved") + written, lease_until=timezone.now() + LEASE
            )
            if not renewed:
                raise _LostClaim
        moved += written
        if cb is not None:
            job.moved += written
            cb(job)
        if pause:
            time.sleep(pause)
        if deadline is not None and time.monotonic() > deadline:
            raise _OutOfTime
    return moved


def _write_tokens(column: EncryptedColumn, updates: list[tuple[int, str, str]]) -> int:
    """Write (id, old token, new token) rows where the row still holds the old token.

    Raw SQL: Django's bulk_update is ~30x slower here (PERFORMANCE.md). PostgreSQL gets one
    UPDATE ... FROM unnest() per batch; other databases an executemany.
    """
    if not updates:
        return 0
    qn = connection.ops.quote_name
    table, pk, col = qn(column.table), qn(column.model._meta.pk.column), qn(column.field.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            ids, olds, news = zip(*updates, strict=True)
            cursor.execute(
                f"UPDATE {table} AS t SET {col} = d.new "
                f"FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS d(id, old, new) "
                f"WHERE t.{pk} = d.id AND t.{col} = d.old",
                [list(ids), list(olds), list(news)],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET {col} = %s WHERE {pk} = %s AND {col} = %s",
                [(new, pk_value, old) for pk_value, old, new in updates],
            )
        return max(cursor.rowcount, 0)


@dataclass
class ReencryptionStatus:
    job: ReencryptionJob | None
    active_version: int | None
    per_key: dict[int, int]
    unusable: set[int]  # versions of keys that cannot decrypt (destroyed)
    pending: int
    unavailable: int

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.is_finished

    @property
    def percent(self) -> int:
        job = self.job
        if job is None or not job.total:
            return 100 if job is not None and job.is_finished else 0
        return min(100, int(100 * job.moved / job.total))

    def as_json(self) -> dict[str, Any]:
        job = self.job
        return {
            "state": job.state if job else None,
            "running": self.running,
            "moved": job.moved if job else 0,
            "total": job.total if job else 0,
            "percent": self.percent,
            "message": job.message if job else "",
            "active_version": self.active_version,
            "pending": self.pending,
            "unavailable": self.unavailable,
            "per_key": [
                {"version": v, "values": n, "usable": v not in self.unusable}
                for v, n in sorted(self.per_key.items())
            ],
        }


def reencryption_status(org: Organization) -> ReencryptionStatus:
    """The latest job and how many values sit on which key (for the page and its JSON)."""
    ring = keyring.Keyring.load(org.pk)
    counts = values_per_key(org)
    job = ReencryptionJob.objects.filter(organization=org).first()
    active = ring.active_version
    return ReencryptionStatus(
        job=job,
        active_version=active,
        per_key=counts,
        unusable={v for v in counts if not ring.usable(v)},
        pending=sum(n for v, n in counts.items() if v != active and ring.usable(v)),
        unavailable=sum(n for v, n in counts.items() if not ring.usable(v)),
    )
