"""Model fields for secrets."""

from typing import Any

from django.db import models


class SealedBinaryField(models.BinaryField):
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
