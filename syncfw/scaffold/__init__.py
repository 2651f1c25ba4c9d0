"""``syncfw new-connector NAME``: a complete, tested connector distribution to start from.

:func:`scaffold_connector` writes ``syncfw-<name>/`` with a config model, a connector of one
stream over a small HTTP API, a Starlette emulator of that API for the sandbox, a harness and a
test module running the acceptance kit, and a README (see ``docs/connectors.md``).
"""

from syncfw.scaffold.generate import ConnectorNames, scaffold_connector

__all__ = ["ConnectorNames", "scaffold_connector"]
