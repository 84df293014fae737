"""The OpenAPI 3.1 description of the JSON API, served at /api/v1/openapi.json.

Written by hand next to certadmin/api.py; tests/api/test_openapi.py checks that every API
route is described here and that the documented parameters are the ones the API accepts.
"""

from typing import Any

from django.conf import settings

from certadmin.models import Certificate

ERROR_CODES = [
    "missing_token",
    "invalid_token",
    "not_mtls_listener",
    "no_client_certificate",
    "unknown_certificate",
    "certificate_of_another_org",
    "certificate_expired",
    "certificate_not_yet_valid",
    "permission_denied",
    "not_found",
    "invalid_page",
    "invalid_query",
    "awaiting_signature",
    "method_not_allowed",
    "internal_error",
]


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_ORG = {
    "name": "org",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 18, "maxLength": 18},
    "description": "The 18-character organization id (shown on the Setup home page).",
}
_CERT_ID = {
    "name": "certificate",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
    "description": "The certificate's id (`id` in the list).",
}
_AUTH_ERRORS = {
    "401": _error(
        "No token, an invalid token, or (for users who hold Enforce SSL/TLS Mutual "
        "Authentication) a missing, unknown, foreign or expired client certificate; "
        "`error` says which."
    ),
    "403": _error("The user lacks the Manage Certificates permission in the org."),
    "404": _error("No such org for this token, or no such certificate in the org."),
}

_DATETIME = {"type": ["string", "null"], "format": "date-time"}
_CERTIFICATE = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "label": {"type": "string"},
        "unique_name": {"type": "string"},
        "type": {"type": "string", "enum": [k for k, _ in Certificate.Kind.choices]},
        "type_label": {"type": "string"},
        "key": {"type": "string", "examples": ["RSA-2048", "EC-P256"]},
        "key_label": {"type": "string", "examples": ["RSA 2048"]},
        "exportable_private_key": {"type": "boolean"},
        "status": {"type": "string", "enum": ["active", "awaiting_signature"]},
        "subject": {"type": "string"},
        "issuer": {"type": "string"},
        "serial": {"type": "string", "description": "Hexadecimal."},
        "fingerprint_sha256": {"type": ["string", "null"], "description": "64 hex digits."},
        "not_before": _DATETIME,
        "not_after": _DATETIME,
        "expired": {"type": "boolean"},
        "days_until_expiry": {"type": ["integer", "null"]},
        "created_at": _DATETIME,
        "modified_at": _DATETIME,
        "url": {"type": "string", "description": "Path of this certificate in the API."},
        "pem_url": {"type": ["string", "null"], "description": "Path of its PEM download."},
    },
    "required": ["id", "label", "unique_name", "type", "status", "not_after", "url"],
}


def document() -> dict[str, Any]:
    """The OpenAPI document (built per call: the server URL is a setting)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "certadmin API",
            "version": "1",
            "description": "Read an organization's certificates: list, detail and public PEM. "
            "Private keys are never returned. Authenticate with an API token "
            "(Setup → My Settings → API Tokens). Users who hold Enforce SSL/TLS Mutual "
            "Authentication must call the mutual-TLS listener and present one of the org's "
            "mutual authentication certificates. See docs/api-clients.md.",
        },
        "servers": [
            {"url": settings.CERTADMIN_MTLS_URL, "description": "mutual-TLS listener"},
            {"url": "/", "description": "this server"},
        ],
        "security": [{"bearerToken": []}],
        "paths": {
            "/api/v1/orgs/{org}/certificates/": {
                "get": {
                    "operationId": "listCertificates",
                    "summary": "List the org's certificates",
                    "parameters": [
                        _ORG,
                        _query("page", {"type": "integer", "minimum": 1}, "Page number (1 first)."),
                        _query(
                            "page_size",
                            {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                            "Certificates per page.",
                        ),
                        _query(
                            "type",
                            {"type": "string", "enum": [k for k, _ in Certificate.Kind.choices]},
                            "Only self-signed or CA-signed certificates.",
                        ),
                        _query(
                            "status",
                            {"type": "string", "enum": ["active", "awaiting_signature"]},
                            "Only certificates with a chain, or only those awaiting one.",
                        ),
                        _query(
                            "expired",
                            {"type": "string", "enum": ["true", "false"]},
                            "Only expired (true) or only not expired (false) certificates.",
                        ),
                        _query(
                            "expiring_within_days",
                            {"type": "integer", "minimum": 0},
                            "Not expired yet, expiring within this many days.",
                        ),
                        _query(
                            "expires_after",
                            {"type": "string", "format": "date-time"},
                            "Expiring at or after this time (ISO 8601; a date means 00:00 UTC).",
                        ),
                        _query(
                            "expires_before",
                            {"type": "string", "format": "date-time"},
                            "Expiring before this time.",
                        ),
                        _query(
                            "search",
                            {"type": "string", "maxLength": 100},
                            "Part of the Label or Unique Name (case-insensitive).",
                        ),
                        _query(
                            "ordering",
                            {
                                "type": "string",
                                "enum": [
                                    "expires",
                                    "-expires",
                                    "unique_name",
                                    "-unique_name",
                                    "label",
                                    "-label",
                                    "created",
                                    "-created",
                                ],
                                "default": "expires",
                            },
                            "Sort order; `-` reverses it.",
                        ),
                    ],
                    "responses": {
                        "200": {
                            "description": "One page of certificates.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/CertificatePage"}
                                }
                            },
                        },
                        "400": _error("A query parameter is unknown or not valid."),
                        **_AUTH_ERRORS,
                    },
                }
            },
            "/api/v1/orgs/{org}/certificates/{certificate}/": {
                "get": {
                    "operationId": "getCertificate",
                    "summary": "One certificate, with its chain",
                    "parameters": [_ORG, _CERT_ID],
                    "responses": {
                        "200": {
                            "description": "The certificate.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/CertificateDetail"}
                                }
                            },
                        },
                        **_AUTH_ERRORS,
                    },
                }
            },
            "/api/v1/orgs/{org}/certificates/{certificate}/pem": {
                "get": {
                    "operationId": "downloadCertificatePem",
                    "summary": "The certificate chain as PEM (leaf first); never a private key",
                    "parameters": [_ORG, _CERT_ID],
                    "responses": {
                        "200": {
                            "description": "`<UniqueName>.crt`",
                            "content": {"application/x-pem-file": {"schema": {"type": "string"}}},
                        },
                        "409": _error("The certificate is awaiting its signed certificate."),
                        **_AUTH_ERRORS,
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1 JSON."}},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token: `cka_<id>_<secret>`.",
                }
            },
            "schemas": {
                "Certificate": _CERTIFICATE,
                "CertificateDetail": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Certificate"},
                        {
                            "type": "object",
                            "properties": {
                                "csr_available": {"type": "boolean"},
                                "chain": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "subject": {"type": "string"},
                                            "issuer": {"type": "string"},
                                            "serial": {"type": "string"},
                                            "not_before": _DATETIME,
                                            "not_after": _DATETIME,
                                            "fingerprint_sha256": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        },
                    ]
                },
                "CertificatePage": {
                    "type": "object",
                    "properties": {
                        "count": {"type": "integer"},
                        "page": {"type": "integer"},
                        "page_size": {"type": "integer"},
                        "next": {"type": ["string", "null"]},
                        "previous": {"type": ["string", "null"]},
                        "results": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Certificate"},
                        },
                    },
                    "required": ["count", "page", "page_size", "next", "previous", "results"],
                },
                "Error": {
                    "type": "object",
                    "properties": {
                        "status": {"type": "integer"},
                        "error": {"type": "string", "enum": ERROR_CODES},
                        "detail": {"type": "string"},
                        "permission": {"type": "string"},
                        "errors": {
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                    "required": ["status", "error", "detail"],
                },
            },
        },
    }
