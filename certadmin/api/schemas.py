"""What the API takes and answers, as pydantic models: the OpenAPI document is generated from
them (and from the endpoints), so it describes what the code does.

Plain pydantic models, not ninja's Schema: that one reads attributes of ORM objects through a
wrapper, and the API hands it dicts and query parameters only.
"""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from django.utils import timezone
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from certadmin.api.errors import ErrorCode
from certadmin.models import Certificate
from certadmin.querysets import CertificateFilter, Ordering

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


def _iso(moment: datetime) -> str:
    """ISO 8601 with a `Z` for UTC, microseconds kept."""
    return moment.isoformat().replace("+00:00", "Z")


def _aware(moment: datetime) -> datetime:
    """A date or time without a zone is in the server's time zone (UTC), as Setup shows it."""
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


# A moment in answers: "2026-01-31T12:00:00Z".
Moment = Annotated[
    datetime,
    PlainSerializer(_iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
# A moment in a query: ISO 8601; a date alone means its 00:00.
QueryMoment = Annotated[datetime, AfterValidator(_aware)]


class CertificateListQuery(BaseModel):
    """The query parameters of the certificate list. Unknown parameters are a 400 too, so a
    typo does not silently list everything (certificates.reject_unknown_parameters)."""

    page: int = Field(1, ge=1, description="Page number (1 first).")
    page_size: int = Field(
        DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Certificates per page."
    )
    type: Certificate.Kind | None = Field(
        None, description="Only self-signed or only CA-signed certificates."
    )
    status: Literal["active", "expired", "awaiting_signature"] | None = Field(
        None,
        description="Only certificates with a chain that has not expired (active), only expired "
        "ones, or only those awaiting their signed certificate.",
    )
    expired: Literal["true", "false"] | None = Field(
        None, description="Only expired (true) or only not expired (false) certificates."
    )
    expiring_within_days: int | None = Field(
        None,
        ge=0,
        le=36500,
        description="Not expired yet, with at most this many `days_left` (calendar days in "
        "the org's time zone): 0 = expiring today.",
    )
    expires_after: QueryMoment | None = Field(
        None, description="Expiring at or after this time (ISO 8601; a date means 00:00 UTC)."
    )
    expires_before: QueryMoment | None = Field(None, description="Expiring before this time.")
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = Field(
        "",
        description="Search: part of the Label, Unique Name, subject or issuer "
        "(case-insensitive), or of the serial number or SHA-256 fingerprint in hex (colons "
        "and spaces ignored). The list page's search box asks the same.",
    )
    search: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = Field(
        "", description="The same as `q` (kept for existing clients); `q` wins if both are given."
    )
    used_by: Literal["sso", "idp"] | None = Field(
        None,
        description="Only certificates used by a SAML SSO configuration (`sso`) or by the "
        "org's Identity Provider (`idp`).",
    )
    ordering: Ordering = Field(
        "expires",
        description="Sort column: label, unique_name, type, key, exportable, expires, status "
        "(active, awaiting signature, expired), used (unused first) or created; a leading `-` "
        "reverses it. Ties go by Unique Name.",
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, data: Any) -> Any:
        """`?type=&page=` is the same as leaving them out, as in HTML forms."""
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value != ""}
        return data

    def criteria(self) -> CertificateFilter:
        return CertificateFilter(
            kind=self.type,
            status=self.status,
            expired=None if self.expired is None else self.expired == "true",
            expiring_within_days=self.expiring_within_days,
            expires_after=self.expires_after,
            expires_before=self.expires_before,
            search=self.q or self.search,
            used_by=self.used_by,
        )


class CertificateOut(BaseModel):
    """The public facts of a certificate: never its private key."""

    id: UUID
    label: str
    unique_name: str
    type: Certificate.Kind
    type_label: str
    key: str = Field(examples=["RSA-2048", "EC-P256"])
    key_label: str = Field(examples=["RSA 2048"])
    exportable_private_key: bool
    status: Literal["active", "expired", "awaiting_signature"] = Field(
        description="As the Status column of the Setup pages: expired certificates are never "
        '"active".'
    )
    subject: str
    issuer: str
    serial: str = Field(description="Hexadecimal.")
    fingerprint_sha256: str | None = Field(description="64 hex digits.")
    not_before: Moment | None
    not_after: Moment | None = Field(description="Null while awaiting the signed certificate.")
    expired: bool
    days_left: int | None = Field(
        description="Calendar days from today to the expiration date, both in the org's time "
        "zone: 0 = expires today, 1 = tomorrow, negative = expired that many days ago. Null "
        "while awaiting the signed certificate. The pages and emails say the same.",
        examples=[30, 1, 0, -3],
    )
    days_until_expiry: int | None = Field(
        deprecated=True, description="The same as `days_left` (kept for older clients)."
    )
    created_at: Moment
    modified_at: Moment
    url: str = Field(description="Path of this certificate in the API.")
    pem_url: str | None = Field(description="Path of its PEM download.")


class ChainCertificateOut(BaseModel):
    subject: str
    issuer: str
    serial: str
    not_before: Moment
    not_after: Moment
    fingerprint_sha256: str


class CertificateDetailOut(CertificateOut):
    chain: list[ChainCertificateOut] = Field(description="Leaf first, then each issuer.")
    csr_available: bool


class CertificatePage(BaseModel):
    count: int
    page: int
    page_size: int
    next: str | None = Field(description="Path of the next page; null on the last one.")
    previous: str | None
    results: list[CertificateOut]


class Error(BaseModel):
    status: int
    error: ErrorCode
    detail: str
    permission: str | None = Field(None, description="The permission missing (403).")
    errors: dict[str, list[str]] | None = Field(
        None, description="What is wrong with each query parameter (400)."
    )
    count: int | None = Field(None, description="How many certificates there are (invalid_page).")
