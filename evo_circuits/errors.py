"""Exception types shared across evo-circuits.

Every error a user can cause by bad input derives from :class:`EvoCircuitsError`, so the
CLI can turn it into one line on stderr and exit code 2 without hiding real bugs.
"""

from __future__ import annotations


class EvoCircuitsError(Exception):
    """Base class for errors caused by user input (files, configs, arguments)."""


class CircuitError(EvoCircuitsError, ValueError):
    """A circuit is invalid; the message names the offending field."""


class FormatError(EvoCircuitsError, ValueError):
    """A file does not follow its documented format; the message names the field."""


class Interrupted(EvoCircuitsError):
    """Work stopped on Ctrl-C/SIGTERM after saving its state (CLI exit code 130)."""
