"""Mappings at run time: evaluating records into property values, and Notion value encoding.

* :func:`compile_mapping` turns a :class:`~syncfw.mapping.spec.BoundMapping` into a
  :class:`CompiledMapping` whose ``evaluate(record_data)`` gives the desired value of every
  property (field paths, sandboxed templates, transforms, value maps, defaults).
* :func:`normalize`, :func:`encode`, :func:`decode` and :func:`schema_config` translate between
  those canonical values and Notion's request/response value objects, within Notion's limits.
* :mod:`syncfw.mapping.spec` holds the pydantic models of mapping files (:class:`MappingFile`,
  :class:`BoundMapping`, :class:`PropertySpec`, :class:`MatchSpec`), which the recipe loader checks.
* :mod:`syncfw.mapping.transforms` holds the built-in transforms (a plugin like any other).
"""

from syncfw.mapping.compiled import CompiledMapping, PropertyError, compile_mapping
from syncfw.mapping.encoding import (
    PROPERTY_TYPES,
    PropertyType,
    PropertyValueError,
    canonical,
    decode,
    encode,
    normalize,
    schema_config,
)

__all__ = [
    "PROPERTY_TYPES",
    "CompiledMapping",
    "PropertyError",
    "PropertyType",
    "PropertyValueError",
    "canonical",
    "compile_mapping",
    "decode",
    "encode",
    "normalize",
    "schema_config",
]
