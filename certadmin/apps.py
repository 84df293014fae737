from django.apps import AppConfig
from django.db.models import CharField, Value


class CertadminConfig(AppConfig):
    name = "certadmin"
    verbose_name = "Certificates"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from certadmin import kinds, usage
        from certadmin.models import Certificate, MutualAuthCertificate, NamedCredential
        from certadmin.models.callout import named_credential_url
        from certadmin.models.certificate import certificate_url
        from certadmin.models.mutual_auth import mutual_auth_url
        from certadmin.models.sso import (
            RSA_KEY_TYPES,
            IdentityProvider,
            SamlSsoConfig,
            idp_use_url,
            sso_use_url,
        )
        from orgs import help, setup_tree
        from orgs.permissions import CUSTOMIZE_APPLICATION, MANAGE_CERTIFICATES

        manage = MANAGE_CERTIFICATES.codename
        setup_tree.add(
            "Security",
            "Certificate and Key Management",
            "certadmin:certificate-list",
            manage,
            order=10,
        )
        setup_tree.add(
            "Security", "Expired Certificates", "certadmin:certificate-expired", manage, order=20
        )
        setup_tree.add("Security", "ACME", "certadmin:acme-overview", manage, order=15)
        customize = CUSTOMIZE_APPLICATION.codename
        setup_tree.add("Security", "Single Sign-On", "certadmin:sso-list", customize, order=50)
        setup_tree.add(
            "Security", "Identity Provider", "certadmin:idp-settings", customize, order=60
        )
        setup_tree.add(
            "Security", "Named Credentials", "certadmin:named-credential-list", customize, order=70
        )
        # The retired proxy certificate's countdown on Setup Home (issue 16).
        from certadmin.services.sso_login import proxy_home_notices

        setup_tree.add_home_notices(proxy_home_notices)
        # Help for this page (orgs.help): the docs section each page is about.
        help.add("certadmin:certificate-", "certificates")
        help.add("certadmin:named-credential-", "named-credentials")
        help.add("certadmin:named-credential-detail", "named-credentials", "test-connection")
        help.add(
            "certadmin:certificate-create-self-signed",
            "certificates",
            "create-a-self-signed-certificate",
        )
        help.add(
            "certadmin:certificate-create-ca-signed",
            "certificates",
            "create-a-ca-signed-certificate",
        )
        help.add(
            "certadmin:certificate-upload-signed", "certificates", "create-a-ca-signed-certificate"
        )
        help.add("certadmin:certificate-detail", "certificates", "a-certificates-page")
        help.add("certadmin:certificate-edit", "certificates", "a-certificates-page")
        help.add("certadmin:certificate-delete", "certificates", "a-certificates-page")
        help.add("certadmin:certificate-expired", "sso", "expired-certificates-page")
        help.add("certadmin:certificate-replace", "sso", "expired-certificates-page")
        help.add("certadmin:certificate-renew", "sso", "renew-spec-22-beyond")
        help.add("certadmin:keystore-", "certificates", "keystores")
        help.add("certadmin:mutual-auth-", "mtls", "uploading-a-mutual-authentication-certificate")
        help.add("certadmin:sso-", "sso", "saml-single-sign-on-settings")
        help.add("certadmin:idp-", "sso", "identity-provider")
        help.add("certadmin:named-credential-", "named-credentials")
        help.add("certadmin:token-", "mtls", "api-tokens")
        help.add("certadmin:acme-", "acme")
        help.add("certadmin:acme-renewal", "acme", "renewal")
        help.add("certadmin:acme-order", "acme", "how-an-order-runs")
        # Failing ACME renewals on Setup Home (issue 18).
        from certadmin.services.acme.renewal import failing_home_notices

        setup_tree.add_home_notices(failing_home_notices)
        # Setup Home's certificates panel: counts, the expiry chart (issue 15).
        from certadmin.views.dashboard import home_panel
        from orgs import home_panels

        home_panels.add("certadmin/_home_panel.html", home_panel, manage, order=10)
        # Every member manages their own API tokens (issue 7).
        setup_tree.add("My Settings", "API Tokens", "certadmin:token-list", None, order=10)

        # The kinds of certificate (where-used and the expiration notices read these).
        kinds.register(
            kinds.CertificateKind(
                key=kinds.CERTIFICATE,
                model=Certificate,
                # SPEC 4: "every certificate with a chain"; one awaiting its signature has no
                # expiry, and one whose uses a replacement took over is done with ("a renewed
                # certificate ... or a replacement that took over all its uses ... is
                # suppressed").
                # Issue 18: nor one an ACME renewal will replace in time (not failing).
                notified=lambda: Certificate.objects.usable().not_replaced().renewal_not_on_track(),
                kind_label=kinds.choices_label("kind", Certificate.Kind.choices),
                url=certificate_url,
            )
        )
        kinds.register(
            kinds.CertificateKind(
                key=kinds.MUTUAL_AUTH,
                model=MutualAuthCertificate,
                # SPEC 4: "every mutual-authentication certificate" (each has its expiration).
                notified=lambda: MutualAuthCertificate.objects.all(),
                kind_label=Value(MutualAuthCertificate.KIND_LABEL, output_field=CharField()),
                url=mutual_auth_url,
            )
        )

        # Where a certificate is used (SPEC 7): each foreign key to a certificate is a use.
        usage.register(
            SamlSsoConfig,
            "request_signing_certificate",
            "SAML SSO configuration (Request Signing Certificate)",
            url=sso_use_url,
            key_types=RSA_KEY_TYPES,
        )
        usage.register(
            SamlSsoConfig,
            "assertion_decryption_certificate",
            "SAML SSO configuration (Assertion Decryption Certificate)",
            url=sso_use_url,
            key_types=RSA_KEY_TYPES,
        )
        usage.register(
            SamlSsoConfig,
            "proxy_certificate",
            "SAML SSO configuration (Request Signing Certificate)",
            url=sso_use_url,
            key_types=RSA_KEY_TYPES,
            moves_to="request_signing_certificate",
        )
        usage.register(
            IdentityProvider,
            "certificate",
            "Identity Provider",
            url=idp_use_url,
            key_types=RSA_KEY_TYPES,
            name_field=None,
            fixed_name="Identity Provider",
        )
        usage.register(
            NamedCredential,
            "certificate",
            "Named Credential",
            url=named_credential_url,
            name_field="label",
        )
