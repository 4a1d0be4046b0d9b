"""``python -m datever``: the command line."""

from datever.cli import main

raise SystemExit(main())
