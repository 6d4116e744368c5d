"""`python -m aevb VERB ...` (and `torchrun -m aevb ...`) runs the command line."""

from .cli import main

raise SystemExit(main())
