"""`python -m services ...`: the `openqio` command line (services.cli), `serve` included."""
from __future__ import annotations

import sys

from services.cli import main

if __name__ == "__main__":
    sys.exit(main())
