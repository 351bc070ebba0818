"""Third-party parsers talk too much: their warnings go to the log at debug level.

pypdf logs a WARNING per odd font (with the whole font dictionary: 1,670 lines for one real
file), trafilatura and htmldate log per page, and some libraries call :func:`warnings.warn`.
None of it is actionable for a user: the file's own result (indexed, or refused with a reason)
is. :func:`demote_library_logs` turns those records into DEBUG records, so ``kb ingest -q``
prints only refusal lines and the summary and ``-vv`` still shows everything.

Usage::

    demote_library_logs()  # idempotent; every converter calls it before its run
"""

from __future__ import annotations

import logging

NOISY_LOGGERS = ("pypdf", "pypdfium2", "trafilatura", "htmldate", "courlan", "justext", "charset_normalizer",
                 "feedparser", "docx", "lxml", "py.warnings", "fontTools")


def _noisy(name: str) -> bool:
    return name.split(".", 1)[0] in NOISY_LOGGERS


class _ToDebug(logging.Filter):
    """Rewrite a noisy library's record as DEBUG; passed on only where ``handler`` takes DEBUG records."""

    def __init__(self, handler: logging.Handler | None = None) -> None:
        super().__init__()
        self.handler = handler

    def filter(self, record: logging.LogRecord) -> bool:
        if not _noisy(record.name):
            return True
        if logging.DEBUG < record.levelno < logging.CRITICAL:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        # The logger's own level was checked before the rewrite; check it again for the DEBUG record.
        threshold = logging.getLogger(record.name).getEffectiveLevel()
        if self.handler is not None:
            threshold = max(threshold, self.handler.level)
        return record.levelno >= threshold


def demote_library_logs() -> None:
    """Send the noisy libraries' log records and Python warnings to the log at debug level.

    Idempotent and cheap: converters call it before each run, after the CLI has set up logging.
    A filter on the root's handlers catches child loggers (``pypdf._cmap``) created at any time.
    """
    logging.captureWarnings(True)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _ToDebug) for f in handler.filters):
            handler.addFilter(_ToDebug(handler))
    for name in NOISY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _ToDebug) for f in logger.filters):
            logger.addFilter(_ToDebug())
