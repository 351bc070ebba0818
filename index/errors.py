"""Domain errors. The CLI and the web app turn these into one clear message, never a traceback."""


class KBError(Exception):
    """Base class for errors a user or operator can act on; the message says what to do."""


class SettingsError(KBError):
    """A setting has a value of the wrong type or out of range."""


class IndexNotFoundError(KBError):
    """There is no published index generation in the data directory yet."""


class IndexIncompatibleError(KBError):
    """A generation was built with a different model, dimension or format than the settings."""


class QueryError(KBError):
    """A user's query cannot be searched (empty, too long, only exclusions, ...)."""


class IngestError(KBError):
    """An ingest run cannot start or cannot publish (missing path, nothing to index, lock held)."""


class LockHeldError(IngestError):
    """Another writer holds the data directory's lock."""


class StoreUnavailableError(KBError):
    """The shared store (PostgreSQL) cannot be reached or refused the connection."""
