"""Models of the certificates app, one module per sub-domain."""

from certadmin.models.certificate import Certificate

__all__ = ["Certificate"]
