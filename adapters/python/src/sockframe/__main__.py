"""``python -m sockframe``: see :mod:`sockframe.cli`."""

import sys

from .cli import main

sys.exit(main())
