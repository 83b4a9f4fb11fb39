"""Logging filters for the console handler (settings ``LOGGING``)."""

import logging


class NoTracebackBelow500(logging.Filter):
    """A refused or missing page (403, 404, 405…) is logged as one line, without the
    traceback Django attaches (every 403 logged a full stack: issue 15, item 12). Server
    errors keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
