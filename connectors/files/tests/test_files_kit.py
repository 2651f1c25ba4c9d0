"""The connector acceptance kit, run against the files connector."""

from __future__ import annotations

from typing import Any

import pytest
from syncfw_files.testing import FilesHarness

from syncfw.errors import SourceAuthError, SourceError
from syncfw.testing import connector_tests

_Kit = connector_tests(FilesHarness)


class TestFilesKit(_Kit):  # type: ignore[misc,valid-type]
    """Every kit check, but the two about credentials: a local file has none (the kit has no
    switch for that yet; ``FilesHarness.has_credentials`` is False). In their place, the nearest
    thing files have."""

    def test_check_refuses_bad_credentials_clearly(self, kit: Any) -> None:
        """A config naming a file that cannot be read is refused by ``check()`` with a plain
        ``SourceError`` naming the file (``SourceAuthError`` is kept for permission denied)."""
        connector = kit.connector(valid_credentials=False)
        with pytest.raises(SourceError) as caught:
            connector.check()
        assert not isinstance(caught.value, SourceAuthError)
        assert str(caught.value).startswith(str(kit.config(valid_credentials=False).path))
        assert "Traceback" not in str(caught.value)

    def test_config_holds_credentials_as_secrets(self, kit: Any) -> None:
        pytest.skip("a files source has no credentials to keep in SecretStr")
