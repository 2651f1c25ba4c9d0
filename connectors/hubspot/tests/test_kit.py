"""The syncfw connector acceptance kit, run against the HubSpot connector and its emulator."""

from syncfw_hubspot.testing import HubSpotHarness

from syncfw.testing import connector_tests

TestHubSpotKit = connector_tests(HubSpotHarness)
