import pytest
from django.contrib.auth.models import User

from certadmin.models import Certificate
from certadmin.services import certificates as services
from orgs.models import Organization

# The API token of the list tests that ask the page and the API the same question.
from tests.api.conftest import alice_token  # noqa: F401

# Client certificates of the mutual authentication tests (made once per session).
from tests.client_certs import client_ca, client_certs, trust_client_ca  # noqa: F401


def self_signed(
    org: Organization, name: str = "Payments_Signing", key_type: str = "EC-P256", **kw: object
) -> Certificate:
    return services.create_self_signed(
        org=org,
        label=name.replace("_", " "),
        unique_name=name,
        key_type=key_type,
        acting_user=None,
        **kw,  # type: ignore[arg-type]
    )


def ca_signed(
    org: Organization, name: str = "Web_Server", key_type: str = "EC-P256", **kw: object
) -> Certificate:
    return services.create_ca_signed(
        org=org,
        label=name.replace("_", " "),
        unique_name=name,
        key_type=key_type,
        subject=services.SubjectFields(
            common_name="www.acme.test", company="Acme", country="US", city="Zürich"
        ),
        acting_user=None,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def awaiting(acme: Organization, alice: User) -> Certificate:
    return ca_signed(acme)
