"""``python -m cosearch`` = the ``cosearch`` command."""

import sys

from cosearch.cli import main

sys.exit(main())
