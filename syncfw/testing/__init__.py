"""The connector author's acceptance kit (see ``docs/connectors.md``).

A connector distribution ships a :class:`ConnectorHarness` that starts its emulator and can
change source data (:class:`EmulatorHarness` does the starting for a connector that ships a
:class:`~syncfw.connector.SourceEmulator`); three lines in its tests run every standard check::

    from syncfw.testing import connector_tests
    from syncfw_mysource.testing import MySourceHarness

    TestMySourceKit = connector_tests(MySourceHarness)
"""

from syncfw.testing.harness import ConnectorHarness, EmulatorHarness, copy_seed_data, shift_timestamps
from syncfw.testing.kit import RATE_LIMITED_REQUESTS, connector_tests

__all__ = [
    "RATE_LIMITED_REQUESTS",
    "ConnectorHarness",
    "EmulatorHarness",
    "connector_tests",
    "copy_seed_data",
    "shift_timestamps",
]
