"""The certificate endpoints: list (paging, filters), one certificate with its chain, its PEM."""

from datetime import datetime, tzinfo
from typing import Annotated, Any
from uuid import UUID

from django.core.paginator import EmptyPage, Paginator
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext
from ninja import Path, Query, Router

from certadmin.api.auth import ApiCaller, ApiRequest, TokenAuth
from certadmin.api.errors import ApiError, invalid_query
from certadmin.api.schemas import (
    CertificateDetailOut,
    CertificateListQuery,
    CertificatePage,
    Error,
)
from certadmin.crypto import display, parsing
from certadmin.models import Certificate
from orgs import permissions

router = Router(auth=TokenAuth(permissions.MANAGE_CERTIFICATES))

ERRORS = {
    400: "A query parameter is unknown or not valid; `errors` names each one.",
    401: "No token, an invalid token, or (for users who hold Enforce SSL/TLS Mutual "
    "Authentication) a missing, unknown, foreign or expired client certificate; `error` says "
    "which.",
    403: "The user lacks the Manage Certificates permission in the org.",
    404: "No such org for this token, or no such certificate (or page) in the org.",
    409: "The certificate is awaiting its signed certificate: there is no PEM yet.",
}
OrgId = Annotated[str, Path(description="The org's 18-character id (on the Setup home page).")]
CertificateId = Annotated[UUID, Path(description="The certificate's id (`id` in the list).")]


def _errors(*statuses: int) -> dict[int, Any]:
    """The `response=` entries of these error statuses."""
    return dict.fromkeys(statuses, Error)


def _described(*statuses: int, **extra: Any) -> dict[str, Any]:
    """`openapi_extra` giving these statuses their sentence of ERRORS."""
    responses = {status: {"description": ERRORS[status]} for status in statuses}
    return {"responses": responses | extra}


@router.get(
    "v1/orgs/{str:org}/certificates/",
    url_name="certificate-list",
    operation_id="listCertificates",
    summary="List the org's certificates",
    response={200: CertificatePage, **_errors(400, 401, 403, 404)},
    openapi_extra=_described(400, 401, 403, 404),
)
def certificate_list(
    request: ApiRequest, org: OrgId, query: Query[CertificateListQuery]
) -> dict[str, Any]:
    reject_unknown_parameters(request)
    now, tz = timezone.now(), request.auth.org.tzinfo
    certificates = (
        Certificate.objects.for_org(request.auth.org)
        .filtered(query.criteria(), now=now, tz=tz)
        .sorted_by(query.ordering)
        .defer("private_key", "csr_pem", "chain_pem", "subject_fields")
    )
    paginator = Paginator(certificates, query.page_size)
    try:
        page = paginator.page(query.page)
    except EmptyPage as exc:
        raise ApiError(
            404, "invalid_page", f"There is no page {query.page}.", count=paginator.count
        ) from exc
    return {
        "count": paginator.count,
        "page": page.number,
        "page_size": paginator.per_page,
        "next": _page_url(request, page.next_page_number()) if page.has_next() else None,
        "previous": _page_url(request, page.previous_page_number())
        if page.has_previous()
        else None,
        "results": [
            certificate_json(cert, base=request.path, now=now, tz=tz) for cert in page.object_list
        ],
    }


def reject_unknown_parameters(request: HttpRequest) -> None:
    """A parameter the list does not take is a 400, so a typo does not list everything."""
    unknown = sorted(set(request.GET) - set(CertificateListQuery.model_fields))
    if unknown:
        raise invalid_query(
            {
                "query": [
                    (
                        f"Unknown query {ngettext('parameter', 'parameters', len(unknown))}: "
                        f"{', '.join(unknown)}."
                    )
                ]
            }
        )


@router.get(
    "v1/orgs/{str:org}/certificates/{uuid:certificate}/",
    url_name="certificate-detail",
    operation_id="getCertificate",
    summary="One certificate, with its chain",
    response={200: CertificateDetailOut, **_errors(401, 403, 404)},
    openapi_extra=_described(401, 403, 404),
)
def certificate_detail(
    request: ApiRequest, org: OrgId, certificate: CertificateId
) -> dict[str, Any]:
    cert = _get_certificate(request.auth, certificate)
    body = certificate_json(
        cert, base=_list_path(request.auth), now=timezone.now(), tz=request.auth.org.tzinfo
    )
    chain = parsing.parse_certificates(cert.chain_pem.encode()) if cert.chain_pem else []
    body["chain"] = [
        {
            "subject": facts.subject,
            "issuer": facts.issuer,
            "serial": facts.serial,
            "not_before": facts.not_before,
            "not_after": facts.not_after,
            "fingerprint_sha256": facts.fingerprint.replace(":", "").lower(),
        }
        for facts in map(display.describe, chain)
    ]
    body["csr_available"] = bool(cert.csr_pem)
    return body


@router.get(
    "v1/orgs/{str:org}/certificates/{uuid:certificate}/pem",
    url_name="certificate-pem",
    operation_id="downloadCertificatePem",
    summary="The certificate chain as PEM (leaf first); never a private key",
    response=_errors(401, 403, 404, 409),
    openapi_extra=_described(
        401,
        403,
        404,
        409,
        **{
            "200": {
                "description": "`<UniqueName>.crt`",
                "content": {"application/x-pem-file": {"schema": {"type": "string"}}},
            }
        },
    ),
)
def certificate_pem(request: ApiRequest, org: OrgId, certificate: CertificateId) -> HttpResponse:
    cert = _get_certificate(request.auth, certificate)
    if not cert.chain_pem:
        raise ApiError(
            409,
            "awaiting_signature",
            "This certificate is awaiting its signed certificate: there is no PEM yet.",
        )
    response = HttpResponse(cert.chain_pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = f'attachment; filename="{cert.download_name}"'
    return response


def _get_certificate(caller: ApiCaller, uuid: UUID) -> Certificate:
    """One certificate of the caller's org; another org's id is the same 404 as no id."""
    cert = (
        Certificate.objects.for_org(caller.org)
        .defer("private_key", "subject_fields")
        .filter(uuid=uuid)
        .first()
    )
    if cert is None:
        raise ApiError(404, "not_found", "No certificate with this id in this org.")
    return cert


def certificate_json(cert: Certificate, *, base: str, now: datetime, tz: tzinfo) -> dict[str, Any]:
    """The fields of CertificateOut. `base`: the path of the org's certificate list; `tz`:
    the org's time zone, in which days left are counted (orgs.clock)."""
    # Paths are built from the list's, not reverse()d per row: 100 reverse() calls were a
    # third of the time of a 50-row page.
    url = f"{base}{cert.uuid}/"
    return {
        "id": cert.uuid,
        "label": cert.label,
        "unique_name": cert.unique_name,
        "type": cert.kind,
        "type_label": cert.get_kind_display(),
        "key": cert.key_type,
        "key_label": cert.key_label,
        "exportable_private_key": cert.exportable,
        "status": (
            "awaiting_signature"
            if cert.is_awaiting_signature
            else "expired"
            if cert.is_expired()
            else "active"
        ),
        "subject": cert.subject,
        "issuer": cert.issuer,
        "serial": cert.serial,
        "fingerprint_sha256": cert.fingerprint_sha256 or None,
        "not_before": cert.not_before,
        "not_after": cert.not_after,
        "expired": cert.is_expired(now),
        "days_left": (days_left := cert.days_left(now, tz)),
        "days_until_expiry": days_left,
        "created_at": cert.created_at,
        "modified_at": cert.modified_at,
        "url": url,
        "pem_url": None if cert.is_awaiting_signature else f"{url}pem",
    }


def _list_path(caller: ApiCaller) -> str:
    return reverse("api:certificate-list", args=[caller.org.public_id])


def _page_url(request: HttpRequest, page: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    return f"{request.path}?{query.urlencode()}"
