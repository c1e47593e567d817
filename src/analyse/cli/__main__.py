"""``python -m analyse.cli``: the same as the ``analyse`` command."""

import sys

from analyse.cli import main

sys.exit(main())
