"""`python -m orchestrator` is the same program as `cardano-fleet`."""

import sys

from orchestrator.cli import main

if __name__ == "__main__":
    sys.exit(main())
