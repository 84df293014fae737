"""Certificate and key helpers for certadmin (pure Python, no Django), one module per job:
keypairs (key types, generation, DER), building (self-signed certificates, CSRs), parsing
(uploaded PEM/DER), chains (ordering and completing chains), display (fingerprints, names, PEM).

All cryptography is delegated to the ``cryptography`` package.
"""
