"""``python -m codels``: the same as the ``codels`` command."""

from codels.tools.cli import main

raise SystemExit(main())
