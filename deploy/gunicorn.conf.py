"""gunicorn for certadmin (`gunicorn -c deploy/gunicorn.conf.py certadmin.wsgi`).

Behind the TLS proxy (deploy/nginx/certadmin.conf.in) by default. With
CERTADMIN_MTLS_DIRECT=True gunicorn terminates mutual TLS itself instead: it asks every client
for a certificate (--cert-reqs 1, optional) and the app reads it from environ["gunicorn.socket"].
Python's ssl module then verifies the client certificate against GUNICORN_CA_CERTS during the
handshake, so that file must hold the roots of every org's client certificates (nginx's
optional_no_ca has no such constraint, which is why nginx is the recommended listener).
"""

import os
import ssl

bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = 5
timeout = 60
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
# Who may set X-Forwarded-Proto for gunicorn: the proxies the app trusts, nobody else.
forwarded_allow_ips = os.environ.get("CERTADMIN_MTLS_TRUSTED_PROXIES", "") or "127.0.0.1"

if os.environ.get("CERTADMIN_MTLS_DIRECT") == "True":
    certfile = os.environ["GUNICORN_CERTFILE"]
    keyfile = os.environ["GUNICORN_KEYFILE"]
    ca_certs = os.environ["GUNICORN_CA_CERTS"]
    cert_reqs = ssl.CERT_OPTIONAL
