"""Model fields for secrets."""

import logging
from typing import Any, TypeVar

from django.core import checks
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models.functions import Cast, StrIndex, Substr
from django.db.models.query_utils import DeferredAttribute

from keys import crypto, keyring, masks

log = logging.getLogger(__name__)

UNAVAILABLE = "unavailable"  # what a value under a destroyed (or unusable) key displays as

# A field's set and get types, which django-stubs fills in per declaration (so a sealed column
# declared null=True reads as bytes | memoryview | None), as its own fields declare them.
_ST_contra = TypeVar("_ST_contra", contravariant=True)
_GT_co = TypeVar("_GT_co", covariant=True)


class SealedBinaryField(models.BinaryField[_ST_contra, _GT_co]):
    """Bytes sealed under the KEK by keys.envelope; never plaintext, not even in Python.

    Services seal before saving and open right where the secret is used, so a model instance,
    a form, the admin or a log line never holds the plaintext. `purpose` is
    "<app_label>.<Model>.<field>", bound into the encryption; `manage.py rotate_kek` finds
    every field of this class to rewrap it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    @property
    def purpose(self) -> str:
        return f"{self.model._meta.label}.{self.name}"


class EncryptedText:
    """The value of an EncryptedTextField: the stored token, decrypted only when asked.

    `str()` and `repr()` never show the plaintext or the token, so a value that reaches a
    template, a log line or an error page by accident reveals nothing. Read it with
    `reveal()` (raises on failure) or `display(clear=...)` (the page/CSV/admin form:
    clear, masked or "unavailable").
    """

    __slots__ = ("_field", "_instance", "_plain", "_token")

    def __init__(self, *, token: str | None = None, plain: str | None = None) -> None:
        self._token = token
        self._plain = plain
        self._field: EncryptedTextField | None = None
        self._instance: models.Model | None = None

    def __str__(self) -> str:
        return "(encrypted)"

    def __repr__(self) -> str:
        return f"<EncryptedText v{self.version}>" if self._token else "<EncryptedText unsaved>"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickles (caches, sessions) keep the token only, never the plaintext.
        return (_unpickle_encrypted_text, (self._token,))

    @property
    def token(self) -> str | None:
        """The stored ciphertext ("v3:..."), None until the value is saved."""
        return self._token

    @property
    def version(self) -> int | None:
        """The master key version that encrypted the stored token."""
        return crypto.version_of(self._token.encode("ascii")) if self._token else None

    def _bind(self, field: "EncryptedTextField", instance: models.Model) -> "EncryptedText":
        self._field, self._instance = field, instance
        return self

    def _owner(self) -> tuple["EncryptedTextField", int]:
        """The field and the org id of the instance this value belongs to."""
        if self._field is None or self._instance is None:
            raise ValueError("This value is not attached to a model instance.")
        return self._field, int(getattr(self._instance, self._field.org_attname))

    def reveal(self, ring: keyring.Keyring | None = None) -> str:
        """The plaintext. Raises keyring.KeyUnavailable for a destroyed or unknown key and
        crypto.DecryptionError for a damaged token; never returns the ciphertext."""
        if self._plain is None:
            if self._token is None:
                raise ValueError("An unsaved value has no token to decrypt.")
            field, org_id = self._owner()
            ring = ring or keyring.Keyring.load(org_id)
            if ring.org_id != org_id:
                raise ValueError("That keyring belongs to another org.")
            self._plain = ring.decrypt(self._token, aad=field.aad(org_id))
        return self._plain

    def mask_spec(self) -> tuple[str, str]:
        """(mask type, mask character): the field's, or the row's `mask_from` object's."""
        field, _ = self._owner()
        if field.mask_from:
            owner = getattr(self._instance, field.mask_from)
            return owner.mask_type, owner.mask_char
        return field.mask_type, field.mask_char

    def masked(self, ring: keyring.Keyring | None = None) -> str:
        return masks.mask(self.reveal(ring), *self.mask_spec())

    def display(
        self, *, clear: bool, ring: keyring.Keyring | None = None, for_email: bool = False
    ) -> str:
        """What a person sees: the value if `clear` (View Encrypted Data), else the mask;
        always the mask in emails; "unavailable" when the key is destroyed or the token
        does not decrypt."""
        try:
            plain = self.reveal(ring)
        except keyring.KeyUnavailable:
            return UNAVAILABLE
        except crypto.DecryptionError:
            log.error("an encrypted value does not decrypt (version %s)", self.version)
            return UNAVAILABLE
        if clear and not for_email:
            return plain
        return masks.mask(plain, *self.mask_spec())


def _unpickle_encrypted_text(token: str | None) -> EncryptedText:
    return EncryptedText(token=token)


class _EncryptedTextDescriptor(DeferredAttribute):
    """Assigning a `str` means plaintext to encrypt on save; reading gives an EncryptedText
    bound to the instance (so it knows the org whose keys decrypt it)."""

    field: "EncryptedTextField"

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        value = super().__get__(instance, cls)
        if instance is None or value is None:
            return value
        return value._bind(self.field, instance)

    def __set__(self, instance: models.Model, value: Any) -> None:
        if isinstance(value, str):
            value = EncryptedText(plain=value)
        elif value is not None and not isinstance(value, EncryptedText):
            raise TypeError("An encrypted field takes a str, an EncryptedText or None.")
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField[str | EncryptedText, EncryptedText]):
    """Text stored encrypted under the org's active master key; `EncryptedText` in Python.

    The column holds the versioned AES-256-GCM token of keys.crypto ("v3:..."), so rows
    written before a rotation still decrypt and the key of every value is known without
    decrypting it. The org and the field are bound as associated data, so a token copied to
    another org or another column does not decrypt. Saving a value (re-)encrypts it with the
    active key; a value whose key is destroyed is kept as it is.

    `org_field` names the ForeignKey to the Organization whose keys are used. Masking: a fixed
    `mask_type`/`mask_char`, or `mask_from` naming a related object that has both (the
    ContactField of a value). Declare a `key_version_of(<this field>)` column beside it so the
    keys page can count values per key and the re-encryption job can find them.

    Filtering on this column compares tokens, never plaintext (each encryption uses a fresh
    nonce); keep a separate hash column if lookups by value are ever needed.
    """

    descriptor_class = _EncryptedTextDescriptor

    def __init__(
        self,
        *args: Any,
        org_field: str = "organization",
        mask_type: str = masks.MASK_ALL,
        mask_char: str = "*",
        mask_from: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.org_field = org_field
        self.mask_type = mask_type
        self.mask_char = mask_char
        self.mask_from = mask_from
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        for attr, default in (
            ("org_field", "organization"),
            ("mask_type", masks.MASK_ALL),
            ("mask_char", "*"),
            ("mask_from", None),
        ):
            if getattr(self, attr) != default:
                kwargs[attr] = getattr(self, attr)
        if kwargs.get("editable") is False:
            del kwargs["editable"]
        return name, path, args, kwargs

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        try:
            self.model._meta.get_field(self.org_field)
        except FieldDoesNotExist:
            errors.append(
                checks.Error(
                    f"org_field {self.org_field!r} is not a field of {self.model.__name__}.",
                    obj=self,
                    id="keys.E001",
                )
            )
        if self.version_field() is None:
            errors.append(
                checks.Error(
                    f"Declare key_version_of({self.name!r}) beside this field.",
                    obj=self,
                    id="keys.E002",
                )
            )
        if self.mask_type not in dict(masks.MASK_TYPES) or self.mask_char not in masks.MASK_CHARS:
            errors.append(checks.Error("Unknown mask type or character.", obj=self, id="keys.E003"))
        return errors

    @property
    def purpose(self) -> str:
        return f"{self.model._meta.label}.{self.name}"

    @property
    def org_attname(self) -> str:
        org = self.model._meta.get_field(self.org_field)
        assert isinstance(org, models.Field)  # the org's ForeignKey, never a reverse relation
        return org.attname

    def aad(self, org_id: int) -> bytes:
        """Associated data of this field's tokens in org `org_id`."""
        return f"{self.purpose}|org={org_id}".encode()

    def version_field(self) -> models.GeneratedField | None:
        """The generated column that holds this field's key version."""
        for field in self.model._meta.local_fields:
            if isinstance(field, models.GeneratedField) and getattr(
                field, "encrypted_source", None
            ) in (self.name, self.attname):
                return field
        return None

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        """Rows load as an undecrypted EncryptedText: nothing is decrypted until asked."""
        return None if value is None else EncryptedText(token=value)

    def to_python(self, value: Any) -> Any:
        """Deserialization (loaddata) hands tokens, never plaintext."""
        if value is None or isinstance(value, EncryptedText):
            return value
        return EncryptedText(token=str(value))

    def get_prep_value(self, value: Any) -> Any:
        """The token. A `str` here (lookups, `update()`) must be a token: plaintext given to
        `update(value=...)` is refused rather than stored in clear."""
        if value is None:
            return value
        if isinstance(value, str):
            try:
                crypto.version_of(value.encode("ascii"))
            except (crypto.MalformedCiphertext, UnicodeEncodeError):
                raise ValueError(
                    "Not an encrypted token: assign plaintext to the attribute and save()."
                ) from None
            return value
        if isinstance(value, EncryptedText):
            if value.token is None:
                raise ValueError("An unsaved encrypted value has no token yet; save() makes it.")
            return value.token
        raise TypeError(f"Cannot store {type(value).__name__} in an encrypted field.")

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        """Encrypt with the org's active key. A stored value is re-encrypted too (SPEC 6:
        values move to the active key when saved), unless its key is unavailable, in which
        case the token is kept untouched rather than lost."""
        value = getattr(model_instance, self.attname)
        if value is None:
            return None
        org_id = int(getattr(model_instance, self.org_attname))
        ring = keyring.Keyring.load(org_id)
        try:
            plain = value.reveal(ring)
        except crypto.DecryptionError:  # includes KeyUnavailable
            if value.token is None:
                raise
            return value.token
        value._token = ring.encrypt(plain, aad=self.aad(org_id))
        return value.token

    def validate(self, value: Any, model_instance: models.Model | None) -> None:
        if value is None:
            if not self.null:
                raise ValidationError(self.error_messages["null"], code="null")
            return
        plain = value._plain
        if plain is not None and self.max_length is not None and len(plain) > self.max_length:
            raise ValidationError(
                f"At most {self.max_length} characters (it has {len(plain)}).", code="max_length"
            )

    def value_to_string(self, obj: models.Model) -> str:
        """dumpdata writes the token."""
        value = self.value_from_object(obj)
        return "" if value is None else str(value.token)

    def formfield(self, **kwargs: Any) -> Any:
        return None  # edited through services that decide about plaintext and masks


def key_version_of(field_name: str) -> models.GeneratedField:
    """A stored, indexed column holding the key version of `field_name`'s token ("v3:..." → 3),
    computed by the database (SQLite and PostgreSQL) from the token itself."""
    column = models.F(field_name)
    expression = Cast(
        Substr(column, 2, StrIndex(column, models.Value(":")) - 2),
        output_field=models.IntegerField(),
    )
    field = models.GeneratedField(
        expression=expression, output_field=models.IntegerField(), db_persist=True
    )
    # A marker on Django's own field class: a subclass would change every migration using it.
    field.encrypted_source = field_name  # type: ignore[attr-defined]  # see the line above
    return field
