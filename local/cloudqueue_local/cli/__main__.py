"""``python -m cloudqueue_local.cli``: the same as the ``cloudqueue`` command."""

from cloudqueue_local.cli.app import main

main()
