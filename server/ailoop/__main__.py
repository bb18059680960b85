"""``python -m ailoop`` is the ``ailoop`` command."""

from ailoop.cli import main

raise SystemExit(main())
