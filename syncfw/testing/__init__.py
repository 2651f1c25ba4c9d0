"""The connector author's acceptance kit (see ``docs/connectors.md``).

A connector distribution ships a :class:`ConnectorHarness` that starts its emulator and can
change source data; three lines in its tests run every standard check::

    from syncfw.testing import connector_tests
    from syncfw_mysource.testing import MySourceHarness

    TestMySourceKit = connector_tests(MySourceHarness)
"""

from syncfw.testing.harness import ConnectorHarness, shift_timestamps
from syncfw.testing.kit import RATE_LIMITED_REQUESTS, connector_tests

__all__ = ["RATE_LIMITED_REQUESTS", "ConnectorHarness", "connector_tests", "shift_timestamps"]
