"""Master keys of an org: created with its first encrypted field, rotated, exported while
archived, destroyed, and imported back from their export file (SPEC 6)."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from keys import crypto, envelope, keyring
from keys.columns import values_per_key
from keys.models import MasterKey
from keys.services import actor_name
from orgs.models import Organization
from orgs.services.audit import Actor, record_audit
from orgs.wording import count

KEYS_SECTION = "Manage Encryption Keys"
# scrypt cost of key export files (the import reads it from the file). Tests lower it.
EXPORT_SCRYPT_N = crypto.DEFAULT_SCRYPT_N


def _new_key(*, org: Organization, version: int, acting_user: Actor) -> MasterKey:
    material = crypto.generate_master_key()
    key = MasterKey(
        organization=org,
        version=version,
        material=envelope.seal(material, purpose=keyring.MATERIAL_PURPOSE),
        kcv=crypto.key_check_value(material),
        created_by=actor_name(acting_user),
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


def export_filename(org: Organization, version: int) -> str:
    return f"MasterKey_{org.public_id}_v{version}.txt"


def export_master_key(*, org: Organization, version: int, password: str, acting_user: Actor) -> str:
    """The export file of an archived key: the key wrapped under `password` (text)."""
    keys = MasterKey.objects.filter(organization=org, version=version)
    key = _key_in_state(keys, version, MasterKey.State.ARCHIVED, action="exported")
    assert key.material is not None  # only a destroyed key has none (a check constraint)
    material = keyring.unwrap(bytes(key.material), kcv=key.kcv)
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
    locked = _org_keys_locked(org)
    key = _key_in_state(locked, version, MasterKey.State.ARCHIVED, action="destroyed")
    if confirmation.strip() != destroy_phrase(version):  # exactly: capitals, one space each
        raise ValidationError(
            {
                "confirmation": f"Type {destroy_phrase(version)} to confirm, in capital "
                "letters exactly as shown."
            },
            code="confirm",
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
        message=f"Destroyed master encryption key {version}; "
        f"{count(lost, 'value', 'values')} became unavailable",
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
    keys = MasterKey.objects.filter(organization=org, version=version)
    key = _key_in_state(keys, version, MasterKey.State.DESTROYED, action="imported")
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
        # Checked again under the lock: a key imported meanwhile is refused.
        locked = _org_keys_locked(org)
        key = _key_in_state(locked, version, MasterKey.State.DESTROYED, action="imported")
        key.state, key.imported_at = MasterKey.State.ARCHIVED, timezone.now()
        key.material = envelope.seal(material, purpose=keyring.MATERIAL_PURPOSE)
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


def _key_in_state(
    keys: Iterable[MasterKey], version: int, state: MasterKey.State, *, action: str
) -> MasterKey:
    """Key `version` among `keys`; a ValidationError unless it is in `state`, the only state
    in which it can be `action` ("exported", "destroyed", "imported")."""
    key = next((k for k in keys if k.version == version), None)
    if key is None:
        raise ValidationError(f"This org has no master key {version}.")
    if key.state != state:
        raise ValidationError(
            f"Only {state.label.lower()} keys can be {action}; "
            f"key {version} is {key.get_state_display()}."
        )
    return key
