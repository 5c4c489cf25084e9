"""Text that is safe to print: names read from files cannot drive the terminal.

Circuit, task, run and motif names come from files other people may have written. A
name holding ``ESC [ 2 J`` (clear screen), an OSC 8 hyperlink or a right-to-left
override would otherwise act on the user's terminal when a command prints it.
:func:`printable` shows such characters as ``\\x1b``-style escapes instead; the CLI
wraps ``sys.stdout`` in a :class:`SanitisingStream` and passes its error lines through
:func:`printable`, so every command is covered in one place.
"""

from __future__ import annotations

import re
from typing import TextIO

# C0 controls but tab/newline/carriage return, DEL, C1 controls, and the Unicode
# bidirectional overrides/isolates (which reorder what the terminal shows).
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with terminal control characters shown as escapes (``\\x1b``, ``\\u202e``).

    Newlines, tabs and carriage returns are kept (callers print several lines); every
    other control character is replaced, so printing the result changes nothing on the
    terminal but the text.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    return _UNSAFE.sub(_escape, text)


class SanitisingStream:
    """A text stream wrapper that passes everything written through :func:`printable`.

    Parameters
    ----------
    stream : file object
        The stream to write to (``sys.stdout``); other attributes are delegated to it.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write ``printable(text)``; returns ``len(text)`` as ``TextIO.write`` does."""
        self._stream.write(printable(text))
        return len(text)

    def writelines(self, lines) -> None:
        """Write each line through :meth:`write`."""
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
