"""Log lines as JSON objects, one per line (LOG_FORMAT=json), for a log collector to index.

Each line has the time (UTC, ISO 8601), level, logger, message and request id; an error's
traceback under "exception", and a request's answer code under "status_code" where Django's
request loggers give one. The message and traceback are those the handler's filters left: the
scrubbing filter (clinic.log_scrubbing) has already replaced quoted values by then.
"""

import datetime as dt
import json
import logging

from clinic.request_ids import NO_REQUEST


class JsonLogFormatter(logging.Formatter):
    def format(self, record):
        line = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", NO_REQUEST),
        }
        status_code = getattr(record, "status_code", None)
        if isinstance(status_code, int):
            line["status_code"] = status_code
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii: a line stays one line of plain ASCII whatever the message holds.
        return json.dumps(line, ensure_ascii=True)
