"""User-facing error types.

The CLI turns any :class:`HqsegError` into a one-line message and exit code 2,
never a traceback. Library code raises these for bad input it can explain.
"""


class HqsegError(Exception):
    """A problem with the user's input or environment, explained in the message."""


class ChecksumError(HqsegError):
    """A downloaded or ingested file does not have the expected sha256."""


class CheckpointError(HqsegError):
    """A checkpoint file is missing, truncated, foreign or of the wrong model type."""


class DatasetError(HqsegError):
    """A dataset folder or file is missing, malformed or inconsistent."""
