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


class PageOutOfRangeError(QueryError):
    """A results page past the last one: a 404 that links to the last page (issue 23, 7)."""

    def __init__(self, page: int, pages: int) -> None:
        self.page, self.pages = page, pages
        super().__init__(f"page {page} is past the last page of these results ({pages}); "
                         f"ask for page {pages} or fewer.")


class UnknownValueError(QueryError):
    """A filter value that no source has: a 400 naming the parameter and some values it may take."""

    def __init__(self, name: str, value: str, known: list[tuple[str, str]], label: str | None = None) -> None:
        self.name, self.value, self.known = name, value, known
        what = label or name
        listed = ", ".join(slug for slug, _ in known[:8])
        more = f" (and {len(known) - 8} more)" if len(known) > 8 else ""
        super().__init__(f"There is no {what} called {value!r}; {name} may be one of: {listed}{more}."
                         if known else f"There is no {what} called {value!r}, and no source has any {what}.")
