"""``python -m engine.reference [PATH]``: write the hooks and objects reference."""

import sys

from engine.reference import main

sys.exit(main())
