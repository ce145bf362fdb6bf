"""The trace: JSON Lines records of every forward and backward computation of a run.

``writer`` streams records to disk, ``tensors`` encodes arrays (whole or summarized),
``reader`` reads a trace back (tolerating a torn last line), ``show`` prints a traced step.
"""

from engine.trace.reader import Trace, read_trace
from engine.trace.writer import SCHEMA_VERSION, TraceWriter

__all__ = ["SCHEMA_VERSION", "Trace", "TraceWriter", "read_trace"]
