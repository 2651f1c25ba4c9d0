"""syncfw-sql: tables, views and queries of any SQLAlchemy database as syncfw streams.

The public API is what ``__all__`` lists.
"""

from syncfw_sql.config import SqlConfig, StreamConfig
from syncfw_sql.connector import SqlConnector

__version__ = "0.1.0"

__all__ = ["SqlConfig", "SqlConnector", "StreamConfig", "__version__"]
