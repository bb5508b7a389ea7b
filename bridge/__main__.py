"""`python -m bridge …` — see bridge/cli.py."""
import sys

from bridge.cli.main import main

sys.exit(main())
