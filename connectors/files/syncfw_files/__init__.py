"""syncfw-files: a CSV, JSON Lines, Excel or Parquet file as a syncfw stream.

The public API is what ``__all__`` lists.
"""

from syncfw_files.config import FilesConfig
from syncfw_files.connector import FilesConnector

__version__ = "0.1.0"

__all__ = ["FilesConfig", "FilesConnector", "__version__"]
