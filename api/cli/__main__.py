"""`python -m api.cli`: the `artbandit` command line."""
import sys

from api.cli import main

sys.exit(main())
