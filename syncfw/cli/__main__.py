"""``python -m syncfw.cli``: the same as the ``syncfw`` command."""

from syncfw.cli import main

main()
