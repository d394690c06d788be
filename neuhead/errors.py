"""Exceptions the CLI turns into one clear line and a non-zero exit."""


class InputError(ValueError):
    """Bad user input: the message names the file and what is wrong with it."""


class WriteError(InputError):
    """An output file cannot be written (disk full, read-only, permissions): the message names it.

    A subclass of InputError so the CLI reports it as one line and exit 2 (the user must free space
    or choose another path), never as a traceback."""


def write_failure_reason(e: BaseException) -> str:
    """A short reason for a failed write: the OS message of an OSError, or the error text of a
    SafetensorError (which wraps the OS error in Rust debug text, e.g. ``StorageFull``)."""
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    text = str(e)
    for needle, reason in (("No space left", "No space left on device"), ("StorageFull", "No space left on device"),
                           ("Read-only", "Read-only file system"), ("PermissionDenied", "Permission denied"),
                           ("Permission denied", "Permission denied")):
        if needle in text:
            return reason
    return " ".join(text.split()) or e.__class__.__name__
