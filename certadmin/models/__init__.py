"""Models of the certificates app, one module per sub-domain."""

from certadmin.models.acme import AcmeAccount, AcmeCertificate, AcmeChallenge, AcmeOrder
from certadmin.models.api import ApiToken
from certadmin.models.callout import NamedCredential
from certadmin.models.certificate import Certificate
from certadmin.models.mutual_auth import MutualAuthCertificate
from certadmin.models.sso import (
    IdentityProvider,
    IdpAnsweredRequest,
    ProxyCertificate,
    SamlAuthnRequest,
    SamlConsumedAssertion,
    SamlSsoConfig,
    ServiceProvider,
)

__all__ = [
    "AcmeAccount",
    "AcmeCertificate",
    "AcmeChallenge",
    "AcmeOrder",
    "ApiToken",
    "Certificate",
    "IdentityProvider",
    "IdpAnsweredRequest",
    "MutualAuthCertificate",
    "NamedCredential",
    "ProxyCertificate",
    "SamlAuthnRequest",
    "SamlConsumedAssertion",
    "SamlSsoConfig",
    "ServiceProvider",
]
