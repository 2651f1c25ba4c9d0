"""The connector acceptance kit, run against the files connector."""

from __future__ import annotations

from typing import Any

import pytest
from syncfw_files.testing import FilesHarness

from syncfw import SourceAuthError, SourceError
from syncfw.testing import connector_tests

_Kit = connector_tests(FilesHarness)


class TestFilesKit(_Kit):  # type: ignore[misc,valid-type]
    """Every kit check. A local file has no credentials (``FilesHarness.has_credentials`` is
    False): the kit checks that a config naming a file that cannot be read is refused cleanly, and
    skips its SecretStr check."""

    def test_an_unreadable_file_is_a_source_error_naming_it(self, kit: Any) -> None:
        """``SourceAuthError`` is kept for permission denied: a missing file is a plain
        SourceError whose message starts with the file's path."""
        connector = kit.connector(valid_credentials=False)
        with pytest.raises(SourceError) as caught:
            connector.check()
        assert not isinstance(caught.value, SourceAuthError)
        assert str(caught.value).startswith(str(kit.config(valid_credentials=False).path))
