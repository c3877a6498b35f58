"""``python -m gis_town``: the CLI, with nothing but Python."""

import sys

from gis_town.cli import main

sys.exit(main())
