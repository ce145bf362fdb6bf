"""Ctrl-C (SIGINT), SIGTERM and SIGHUP (the terminal closed) end a run between two steps,
never in the middle of one.

While a run is training, ``deferred()`` replaces both handlers with one that only sets a flag;
the training loops call ``check()`` at the start of every step, which raises
KeyboardInterrupt there, so the last step is either wholly recorded or not at all. A second
signal before the next step interrupts at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading

_requested = False

#: The signals that stop a run (SIGHUP where the platform has it).
SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _request(signum, frame) -> None:
    global _requested
    if _requested:
        raise KeyboardInterrupt
    _requested = True


def check() -> None:
    """Raise KeyboardInterrupt if a stop was requested since the run began."""
    if _requested:
        raise KeyboardInterrupt


@contextlib.contextmanager
def deferred():
    global _requested
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are delivered to the main thread only; nothing to defer here
        return
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    _requested = False
    for sig in previous:
        signal.signal(sig, _request)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _requested = False
