"""``python -m codels``: the same as the ``codels`` command."""

from codels.cli import main

raise SystemExit(main())
