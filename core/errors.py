"""The project's error base: every failure caused by the user's input or environment is one of these.

Its message is meant for the user as is and names the file or option at fault; the command line prints
it and exits with code 2 (or reports the input as failed and goes on with the next one). Any other
exception is a bug and keeps its traceback.
"""
from __future__ import annotations


class SshvideoError(Exception):
    """Base of the project's own errors (bad input, missing file, unusable device)."""


class UserError(SshvideoError):
    """A bad command-line option or combination of options."""


class SettingsError(SshvideoError, ValueError):
    """A setting out of its range or unavailable here: a device, a backend, an inference setting. Also a
    ``ValueError``, as library callers passing such a value expect."""


class LabelFormatError(SshvideoError):
    """A label or prediction file is malformed; the message names the file and the line or element."""


class ImageReadError(SshvideoError):
    """An image file is missing, empty, undecodable or too large to decode."""
