"""The settings the test suite runs with: the real ones (clinic/settings.py), over plain HTTP.

The test client and the live server of the browser tests speak HTTP, so the HTTPS-only defaults
of a production install (redirect, HSTS, secure cookies) are turned off the documented way,
PLAIN_HTTP=True, unless the environment says otherwise. Everything else is the production code.
"""

import os

os.environ.setdefault("PLAIN_HTTP", "True")

from clinic.settings import *  # noqa: F403
