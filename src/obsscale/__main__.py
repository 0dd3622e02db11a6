"""``python -m obsscale``: the same as the ``obsscale`` command."""

import sys

from obsscale.cli import main

sys.exit(main())
