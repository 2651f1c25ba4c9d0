from syncfw_zendesk.testing import ZendeskHarness

from syncfw.testing import connector_tests

TestZendeskKit = connector_tests(ZendeskHarness)
