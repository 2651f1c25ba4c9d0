"""Wrong object type and property names found through the properties API before anything is read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncfw.connector import UnknownNames

if TYPE_CHECKING:
    from conftest import Sandbox


def test_unknown_names_asks_the_properties_api(sandbox: Sandbox) -> None:
    """A misspelt object type, a misspelt property and a property path without ``properties.``
    are reported, each with the name it should be; good paths are not. About 1 s."""
    connector = sandbox.connector()
    try:
        wrong = connector.unknown_names("compnies", ["properties.name"])
        assert wrong.stream is not None and "did you mean 'companies'?" in wrong.stream
        fields = [
            "properties.name",
            "properties.domian",
            "domain",
            "id",
            "updatedAt",
            "associations.contacts.results",
        ]
        found = connector.unknown_names("companies", fields)
        assert found.stream is None
        assert set(found.fields) == {"properties.domian", "domain"}
        assert "no property 'domian' (did you mean 'domain'?)" in found.fields["properties.domian"]
        assert "(did you mean 'properties.domain'?)" in found.fields["domain"]
        requests = sandbox.portal.stats.requests
        # the definitions are asked for once per connector (the read uses them too)
        assert connector.unknown_names("companies", ["properties.name"]) == UnknownNames()
        assert sandbox.portal.stats.requests == requests
    finally:
        connector.close()
