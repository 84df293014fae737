"""Settings of the `manage.py` processes the notification tests start.

The test settings, with the real SMTP backend pointed at the test's server and a django-q2
cluster that really queues (not `sync`), under a name of its own so parallel test runs never
take each other's tasks. DATABASE_URL (read by certadmin.settings) names the shared database.
"""

import os

from certadmin.settings_test import *  # noqa: F403
from certadmin.settings_test import Q_CLUSTER

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("TEST_SMTP_PORT", "25"))
# A test holds one job inside its first email while a second job, already loaded, runs its
# job (about a second): the first waits that long for the server's answer. With the second
# started only then, its start-up (`manage.py check` alone: 7.7 s on a loaded machine) had to
# fit in this timeout, and did not with 5 s.
EMAIL_TIMEOUT = 60

_cluster = {key: value for key, value in Q_CLUSTER.items() if key not in ("sync", "redis", "orm")}
if os.environ.get("TEST_Q_BROKER", "orm") == "redis":
    _cluster["redis"] = os.environ["REDIS_URL"]
else:
    _cluster["orm"] = "default"
Q_CLUSTER = {
    **_cluster,
    "name": os.environ.get("TEST_Q_NAME", "certadmin-test"),
    "workers": 1,
    "poll": 0.1,
    # The sentinel calls the scheduler once `guard_cycle` adds up to 30 seconds: at 30, on
    # its first pass, so a schedule due in the past fires as soon as the cluster is up.
    "guard_cycle": 30,
}
