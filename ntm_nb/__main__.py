"""``python -m ntm_nb``: the command line (see ``ntm_nb.cli``)."""

import sys

from ntm_nb.cli import main

sys.exit(main())
