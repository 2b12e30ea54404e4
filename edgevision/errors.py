"""The error types edgevision raises for problems a user can fix.

Every subclass of :class:`EdgevisionError` carries a message that says what was wrong and what to
do; the CLI prints it as one line and exits with code 2. Anything else is a bug and keeps its
traceback.
"""


class EdgevisionError(Exception):
    """A problem with the user's input, environment or request (CLI exit code 2)."""

    exit_code = 2


class DataError(EdgevisionError):
    """An image folder, image file or label file that cannot be used as given."""


class ConfigError(EdgevisionError):
    """A profile, flag or config value that is unknown or out of range."""


class BundleError(EdgevisionError):
    """A bundle folder or manifest that is missing, malformed or inconsistent."""


class ModelError(EdgevisionError):
    """A checkpoint, weights file or architecture that cannot be loaded or exported."""


class SourceError(EdgevisionError):
    """A video source (camera, file, stream, folder) that cannot be opened or read."""


class BackendUnavailableError(EdgevisionError):
    """A runtime backend, device or precision that is not installed or not present here."""


class FidelityError(EdgevisionError):
    """An exported artifact that disagrees with the PyTorch model beyond the allowed limits."""


def missing_extra(package: str, extra: str) -> BackendUnavailableError:
    """Build the error for an optional dependency that is not installed.

    Args:
        package: The import name that failed.
        extra: The pip extra of edgevision that installs it.
    """
    return BackendUnavailableError(
        f"{package} is not installed; install it with: pip install 'edgevision[{extra}]'"
    )
