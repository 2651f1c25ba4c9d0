"""syncfw: keep Notion data sources fed from the systems that own the data.

The public API is what ``__all__`` lists; everything else may change between releases.
"""

from syncfw.connector import Checkpoint, Connector, EmulatorContext, Record, SourceEmulator, StreamSpec
from syncfw.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = [
    "Checkpoint",
    "Connector",
    "EmulatorContext",
    "Record",
    "SourceEmulator",
    "StreamSpec",
    "__version__",
    "hookimpl",
]
