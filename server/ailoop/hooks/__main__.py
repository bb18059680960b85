"""``python -m ailoop.hooks claude-code|cursor [--data-dir DIR]``: the hook, started lean.

See :mod:`ailoop.hooks.entry`.
"""

import sys

from ailoop.hooks.entry import main

raise SystemExit(main(sys.argv[1:]))
