"""Errors raised by the artwork catalog and event store."""
import errno

# What a write that failed for want of space sets errno to (a quota and a file-size limit too).
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class CatalogError(Exception):
    """Base for catalog and store errors."""


class NotFoundError(CatalogError, LookupError):
    """A title, artwork or event id that the store does not hold; `kind` says which."""

    def __init__(self, message: str, *, kind: str = "") -> None:
        super().__init__(message)
        self.kind = kind


class AlreadyExistsError(CatalogError, ValueError):
    """An id that is already taken."""


class InvalidImageError(CatalogError, ValueError):
    """An upload that does not decode as an image."""


class ImageTooLargeError(CatalogError, ValueError):
    """An image over the configured byte or pixel limit."""


class InvalidRecordError(CatalogError, ValueError):
    """A record field with a value the store refuses (bad status, kind, pmf, ...)."""


class SchemaError(CatalogError):
    """A database whose schema this version cannot open."""


class LiveLimitError(CatalogError, ValueError):
    """Making one more artwork live would exceed what the exploration floor allows."""


class JournalError(CatalogError, OSError):
    """The decision journal could not be written (disk full, permissions)."""


class InvalidRewardError(CatalogError, ValueError):
    """Reward weights, or feedback, that cannot be turned into one reward number."""


class StorageFullError(CatalogError, OSError):
    """Nothing could be written: the data directory's disk is full."""


class StoreUnavailableError(CatalogError):
    """The data directory or its database cannot be used (read-only, not a database, damaged)."""
