"""Exceptions raised by gardencity (the native module raises these classes)."""

from __future__ import annotations


class GardencityError(Exception):
    """Base class of gardencity's own errors; the message names the file, layer, row or
    parameter at fault."""


class ParameterError(GardencityError, ValueError):
    """A parameter or a run-specification key is invalid."""


class InputNotFoundError(GardencityError, FileNotFoundError):
    """An input file does not exist."""


class RunCancelledError(GardencityError):
    """The run was cancelled before it finished (nothing that looks complete was left)."""


class OutputLockedError(GardencityError):
    """Another gardencity run is writing into the output directory (the message names it)."""


__all__ = ["GardencityError", "ParameterError", "InputNotFoundError", "RunCancelledError", "OutputLockedError"]
