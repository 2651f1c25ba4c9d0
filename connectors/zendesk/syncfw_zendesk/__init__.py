"""syncfw-zendesk: Zendesk Support tickets, users and organizations as syncfw streams, read through
the incremental export API with zenpy, with a local emulator of that API.

Distributed under GPL-3.0 (see LICENSE), because it imports zenpy (GPL-3.0). The public API is what
``__all__`` lists.
"""

from syncfw_zendesk.config import ZendeskConfig
from syncfw_zendesk.connector import ZendeskConnector
from syncfw_zendesk.ratelimits import Bucket, RateLimits

__version__ = "0.1.0"

__all__ = ["Bucket", "RateLimits", "ZendeskConfig", "ZendeskConnector", "__version__"]
