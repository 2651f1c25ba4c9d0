"""The syncfw connector acceptance kit, run against the Salesforce connector and its emulator."""

from syncfw_salesforce.testing import SalesforceHarness

from syncfw.testing import connector_tests

TestSalesforceKit = connector_tests(SalesforceHarness)
