"""Wrong stream and field names found before anything is read: documented fields, custom field keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Sandbox


def test_unknown_names_knows_the_documented_fields_and_the_custom_field_keys(sandbox: Sandbox) -> None:
    """A misspelt stream, a misspelt ticket field and an organization custom field key the
    account does not define (List Organization Fields) are reported; good paths are not, and no
    export is read. About 1 s."""
    connector = sandbox.connector()
    try:
        wrong = connector.unknown_names("organisations", ["name"])
        assert wrong.stream is not None and "did you mean 'organizations'?" in wrong.stream
        tickets = connector.unknown_names("tickets", ["subject", "statsu", "via.channel", "updated_at"])
        assert tickets.stream is None
        assert list(tickets.fields) == ["statsu"]
        assert "did you mean 'status'?" in tickets.fields["statsu"]
        paths = ["domain_names", "organization_fields.sla_level", "organization_fields.sla_levle"]
        organizations = connector.unknown_names("organizations", paths)
        assert list(organizations.fields) == ["organization_fields.sla_levle"]
        assert "did you mean 'sla_level'?" in organizations.fields["organization_fields.sla_levle"]
        assert sandbox.account.stats.export_requests == 0
    finally:
        connector.close()
