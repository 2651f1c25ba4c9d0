"""The checks of a recipe load that span files or need the plugin registry, one module each.

Each check returns :class:`~syncfw.errors.Problem` objects at ``file:line:col key.path``;
:mod:`syncfw.recipe.loader` runs them and reports every problem at once.

* :mod:`.properties`: a mapping file's own properties and match (origins, aggregates, constants,
  the mapping's role);
* :mod:`.transforms`: transform names and arguments against the installed transforms;
* :mod:`.binding`: which recipe source a mapping reads, and whether its file can be read;
* :mod:`.connectors`: each source's config against its connector's ``config_model``;
* :mod:`.matches`: one primary mapping per target, every other one matching its pages;
* :mod:`.relations`: relation targets and ``via`` mappings;
* :mod:`.ownership`: every property has exactly one owner.
"""
