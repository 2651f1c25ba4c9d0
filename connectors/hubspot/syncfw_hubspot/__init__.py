"""syncfw-hubspot: HubSpot CRM objects as syncfw streams, with a local emulator of the CRM API.

The public API is what ``__all__`` lists.
"""

from syncfw_hubspot.config import HubSpotConfig
from syncfw_hubspot.connector import HubSpotConnector

__version__ = "0.1.0"

__all__ = ["HubSpotConfig", "HubSpotConnector", "__version__"]
