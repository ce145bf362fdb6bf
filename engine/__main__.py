"""``python -m engine`` is the ``tracegrad`` command."""

import sys

from engine.cli import main

sys.exit(main())
