"""syncfw-salesforce: Salesforce sObjects as syncfw streams, with a local emulator of the REST API.

The public API is what ``__all__`` lists.
"""

from syncfw_salesforce.config import SalesforceConfig
from syncfw_salesforce.connector import SalesforceConnector
from syncfw_salesforce.usage import ApiUsage

__version__ = "0.1.0"

__all__ = ["ApiUsage", "SalesforceConfig", "SalesforceConnector", "__version__"]
