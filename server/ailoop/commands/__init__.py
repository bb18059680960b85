"""The ``ailoop`` subcommands, one module each.

Each module has ``register(subparsers)``, which adds its parser and sets ``func`` to a
function taking the parsed arguments and returning the exit code. Modules import their
heavy dependencies inside that function, so ``ailoop serve`` starts fast.
"""
