"""An SMS "provider" for worker processes under test, counting what they send across processes.

Each message accepted is one line appended to the file named by RECORDED_SMS_FILE: "<name> sent
<to>", the name being RECORDED_SMS_NAME (the test's name for the worker; else the process id), in
one write to a file opened for appending, so that lines from several processes never mix.
Each send takes RECORDED_SMS_SECONDS, so that workers overlap. A process started with
RECORDED_SMS_HOLD=1 checks, before each message, whether the file RECORDED_SMS_FILE + ".hold"
exists; once it does, the process writes "<name> holding <to>" and never returns: the provider's
call in flight when the test kills the worker (the provider never accepted that message).
"""

import os
import time

from notifications import sms


def _append(line):
    descriptor = os.open(os.environ["RECORDED_SMS_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        name = os.environ.get("RECORDED_SMS_NAME") or os.getpid()
        os.write(descriptor, f"{name} {line}\n".encode())
    finally:
        os.close(descriptor)


class RecordingSmsBackend(sms.SmsBackend):
    def send(self, *, to, body):
        if os.environ.get("RECORDED_SMS_HOLD") and os.path.exists(
            os.environ["RECORDED_SMS_FILE"] + ".hold"
        ):
            _append(f"holding {to}")
            while True:
                time.sleep(1)
        time.sleep(float(os.environ.get("RECORDED_SMS_SECONDS", "0")))
        _append(f"sent {to}")


def read(path):
    """[(name, what, to)] for each line written so far, in order."""
    if not path.exists():
        return []
    return [tuple(line.split(" ", 2)) for line in path.read_text().splitlines()]
