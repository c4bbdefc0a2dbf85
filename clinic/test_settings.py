"""The settings the test suite runs with: the real ones (clinic/settings.py), over plain HTTP.

The test client and the live server of the browser tests speak HTTP, so the HTTPS-only defaults
of a production install (redirect, HSTS, secure cookies) are turned off the documented way,
PLAIN_HTTP=True, unless the environment says otherwise. Everything else is the production code.
"""

import os

os.environ.setdefault("PLAIN_HTTP", "True")

from clinic.settings import *  # noqa: F403

# The read replica's alias, standing for the default database (a test mirror) unless
# DATABASE_REPLICA_URL named one: clinic/tests/test_read_replica.py turns its router on. Without
# the router nothing is sent to it, as in an install without a replica.
DATABASES.setdefault("replica", {**DATABASES["default"], "TEST": {"MIRROR": "default"}})  # noqa: F405
