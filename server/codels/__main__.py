"""``python -m codels``: the same as the ``codels`` command. Imports :mod:`codels.tools.cli`."""

from codels.tools.cli import main

raise SystemExit(main())
