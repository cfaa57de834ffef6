"""``python -m drupe``: the ``drupe`` command."""

import sys

from drupe._cli import main

sys.exit(main())
