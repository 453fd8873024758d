"""``python -m hwtests``: run the board acceptance suite and exit non-zero on any failure."""
import sys

from .cli import main

sys.exit(main())
