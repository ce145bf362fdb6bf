"""``python -m engine`` is the ``tracegrad`` command."""

import sys

try:
    from engine.cli import main
except KeyboardInterrupt:  # Ctrl-C while the command starts: no traceback
    sys.stderr.write("interrupted\n")
    sys.exit(130)

sys.exit(main())
