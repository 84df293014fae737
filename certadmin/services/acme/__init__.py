"""ACME (issue 18; docs/acme.md): accounts, orders and their challenges, automatic renewal and
revocation. The protocol is certadmin.acme_client's (the `acme` package); these services keep
the keys sealed, the database consistent and the audit trail written."""
