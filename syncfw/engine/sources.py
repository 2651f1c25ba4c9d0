"""A run's sources: their connectors, checked, and the mappings' names check, remembered.

Before anything is read, ``plan`` and ``run`` check each source (:meth:`Connector.check
<syncfw.connector.Connector.check>`) and the stream and field names every mapping reads
(:func:`~syncfw.engine.source_names.mapping_problems`, exit 2 at the name's ``file:line:col``).
Asking a source to describe itself costs requests (Salesforce: describe global, then a describe
per sObject) and, for a file, parsing its header (the files connector's pandas: half a second and
140 MiB). So a names check that found nothing wrong is remembered in the state store (setting
``source_names.<mapping file>``), under a SHA-256 of what its answer depends on: the mapping's
stream and field paths, the connector, the source's config (secrets masked) and the connector's
:meth:`~syncfw.connector.Connector.schema_fingerprint` (a file's digest). It is asked again when
any of these changed; for a connector without a schema fingerprint, :data:`NAMES_RECHECK` after
it was asked; on ``--full-refresh``; and when a read of the source failed (:meth:`Sources.explain`): a field deleted at
the source under an unchanged mapping is then still reported at its mapping line with exit 2,
instead of in the source's words, though only after Notion was read.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from pydantic import BaseModel

from syncfw.clock import Clock, iso, parse_time, utcnow
from syncfw.connector import Connector
from syncfw.engine.source_names import check_source_names, mapping_problems, mappings_of, read_fields
from syncfw.errors import ConfigError, SourceError, SyncfwError
from syncfw.mapping.spec import BoundMapping
from syncfw.plugins import Registry
from syncfw.recipe import Recipe
from syncfw.state import StateBackend

NAMES_RECHECK = timedelta(days=1)
"""How long a names check that passed is trusted for a connector without a schema fingerprint
(Salesforce, Zendesk, HubSpot: a field can be deleted there at any time)."""

_SETTING = "source_names."


class Sources:
    """The recipe's connectors for one run (:attr:`connectors`, built by :meth:`open`).

    Args:
        recipe: a recipe loaded with the plugin registry.
        registry: the plugins, for the connector classes.
        store: the recipe's state store, where names checks are remembered.
        clock: the current time (UTC).
    """

    def __init__(
        self, recipe: Recipe, registry: Registry, store: StateBackend, clock: Clock = utcnow
    ) -> None:
        self.recipe = recipe
        self.registry = registry
        self.store = store
        self.clock = clock
        self.connectors: dict[str, Connector] = {}
        self.remembered: list[str] = []
        """The settings of the names checks taken from the state store rather than asked."""

    def open(self, *, recheck: bool = False) -> None:
        """Build and check every source's connector, then check the mappings' names, asking only
        the sources whose remembered check does not hold (see the module docstring); with
        ``recheck`` (``--full-refresh``), every source.

        Raises:
            ConfigError: a mapping names a stream or field its source lacks (exit 2).
            SourceError: a source failed its check, or could not be asked.
        """
        for name, source in self.recipe.sources.items():
            assert isinstance(source.config, BaseModel), "recipes are loaded with the plugin registry"
            connector = self.registry.connector(source.connector)(source.config)
            self.connectors[name] = connector
            connector.check()
        now = self.clock()
        asked: dict[str, str] = {}
        problems = []
        for mapping in mappings_of(self.recipe):
            connector = self.connectors[mapping.source]
            setting = _SETTING + str(mapping.file)
            schema = connector.schema_fingerprint(mapping.stream)
            fingerprint = _fingerprint(mapping, connector, schema)
            if not recheck and self._holds(setting, fingerprint, now):
                self.remembered.append(setting)
                continue
            problems += mapping_problems(mapping, connector)
            until = None if schema is not None else now + NAMES_RECHECK
            asked[setting] = json.dumps({"fingerprint": fingerprint, "until": iso(until)})
        if problems:
            raise ConfigError(problems)
        if asked:
            with self.store.transaction() as tx:
                for setting, value in asked.items():
                    tx.set_setting(setting, value)

    def explain(self, exc: SyncfwError) -> SyncfwError:
        """What to report for ``exc``, which stopped the run: when it is a source's failure and a
        names check was taken from the state store, the names are asked again (and forgotten,
        so the next run asks too) and a wrong one is reported instead, at its mapping line."""
        if not isinstance(exc, SourceError) or not self.remembered:
            return exc
        try:
            with self.store.transaction() as tx:
                for setting in self.remembered:
                    tx.set_setting(setting, "")
            self.remembered = []
            check_source_names(self.recipe, self.connectors)
        except ConfigError as wrong:
            return wrong
        except SyncfwError:  # the source cannot be asked, or the state store is failing: the read's words
            return exc
        return exc

    def close(self) -> None:
        """Release every connector's connections."""
        for connector in self.connectors.values():
            connector.close()

    def _holds(self, setting: str, fingerprint: str, now: datetime) -> bool:
        try:
            kept = json.loads(self.store.setting(setting) or "{}")
        except ValueError:
            return False
        if not isinstance(kept, dict) or kept.get("fingerprint") != fingerprint:
            return False
        if kept.get("until") is None:
            return True
        try:
            until = parse_time(str(kept["until"]))
        except ValueError:
            return False
        return until is not None and now < until


def _fingerprint(mapping: BoundMapping, connector: Connector, schema: str | None) -> str:
    """SHA-256 (hex) of what the names check of ``mapping`` depends on."""
    config = connector.config.model_dump(mode="json")  # SecretStr values dump as "**********"
    described = [
        connector.name,
        mapping.stream,
        read_fields(mapping),
        config,
        schema,
    ]
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()
