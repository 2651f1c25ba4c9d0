"""The HubSpot calls syncfw makes, through hubspot-api-client, answered as the API's own JSON.

Every call passes ``_preload_content=False`` so the answer is urllib3's response: the JSON body
keeps HubSpot's keys and strings (the generated models would turn ``updatedAt`` into a datetime,
rename keys to snake_case and drop keys they do not know, such as ``url``), and the
``X-HubSpot-RateLimit-*`` headers stay readable. hubspot-api-client builds a new API client (and
connection pool) each time ``client.crm.objects.search_api`` is read, so the API objects are made
once here. Retries are off in urllib3 (``retry=False``): the connector retries itself, so that a
429 is waited out by its policy and a connection error surfaces as urllib3's own exception.

This is the only module that imports hubspot-api-client, which ships no type information.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hubspot import Client  # type: ignore[import-untyped]
from hubspot.crm.associations import (  # type: ignore[import-untyped]
    BatchInputPublicObjectId,
    PublicObjectId,
)
from hubspot.crm.associations.exceptions import (  # type: ignore[import-untyped]
    ApiException as AssociationsApiException,
)
from hubspot.crm.objects import (  # type: ignore[import-untyped]
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
)
from hubspot.crm.objects.exceptions import (  # type: ignore[import-untyped]
    ApiException as ObjectsApiException,
)
from hubspot.crm.properties.exceptions import (  # type: ignore[import-untyped]
    ApiException as PropertiesApiException,
)

from syncfw_hubspot.ratelimit import RateLimitHeaders

#: The exception bases of the hubspot-api-client sub-packages used here (each has its own).
API_EXCEPTIONS: tuple[type[Exception], ...] = (
    ObjectsApiException,
    AssociationsApiException,
    PropertiesApiException,
)


@dataclass(frozen=True)
class SearchFilter:
    """One filter of a CRM search: ``{"propertyName", "operator", "value"}``."""

    property: str
    operator: str
    value: str


@dataclass(frozen=True)
class Answer:
    """A successful answer: its JSON body and its rate-limit headers."""

    body: dict[str, Any]
    limits: RateLimitHeaders


class CrmClient:
    """hubspot-api-client configured for one account.

    Args:
        access_token: the private app's access token.
        host: the API base URL (``https://api.hubapi.com`` or an emulator's).
        ca_file: a PEM bundle of the certificate authorities to trust instead of the system's
            (the generated client's ``ssl_ca_cert``), or None.
        timeout: seconds per request.
    """

    def __init__(self, *, access_token: str, host: str, ca_file: str | None, timeout: float) -> None:
        options: dict[str, Any] = {"access_token": access_token, "host": host, "retry": False}
        if ca_file:
            options["ssl_ca_cert"] = ca_file
        client = Client.create(**options)
        self._timeout = timeout
        self._basic = client.crm.objects.basic_api
        self._search = client.crm.objects.search_api
        self._associations = client.crm.associations.batch_api
        self._properties = client.crm.properties.core_api

    def search(
        self,
        object_type: str,
        *,
        filters: Sequence[SearchFilter],
        sort: str,
        properties: Sequence[str],
        limit: int,
    ) -> Answer:
        """``POST /crm/v3/objects/{object_type}/search``, one filter group, ascending by ``sort``.

        Returns ``{"total": n, "results": [...], "paging"?: {"next": {"after": "200"}}}``.
        """
        request = PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(
                    filters=[
                        Filter(property_name=f.property, operator=f.operator, value=f.value) for f in filters
                    ]
                )
            ]
            if filters
            else None,
            sorts=[{"propertyName": sort, "direction": "ASCENDING"}],
            properties=list(properties),
            limit=limit,
        )
        return self._answer(
            self._search.do_search,
            object_type,
            public_object_search_request=request,
            _preload_content=False,
            _request_timeout=self._timeout,
        )

    def list_page(
        self,
        object_type: str,
        *,
        limit: int,
        after: str | None,
        properties: Sequence[str],
        archived: bool,
        associations: Sequence[str] = (),
    ) -> Answer:
        """``GET /crm/v3/objects/{object_type}`` (``archived=True`` lists archived records).

        Returns ``{"results": [...], "paging"?: {"next": {"after": "...", "link": "..."}}}``.
        """
        return self._answer(
            self._basic.get_page,
            object_type,
            limit=limit,
            after=after,
            properties=list(properties) or None,
            associations=list(associations) or None,
            archived=archived,
            _preload_content=False,
            _request_timeout=self._timeout,
        )

    def read_associations(self, from_type: str, to_type: str, ids: Sequence[str]) -> Answer:
        """``POST /crm/v3/associations/{from_type}/{to_type}/batch/read`` for ``ids``.

        Returns ``{"status": "COMPLETE", "results": [{"from": {"id"}, "to": [{"id", "type"}]}],
        "errors"?: [...]}`` (HTTP 207 when some ids have no associations).
        """
        batch = BatchInputPublicObjectId(inputs=[PublicObjectId(id=record_id) for record_id in ids])
        return self._answer(
            self._associations.read,
            from_type,
            to_type,
            batch_input_public_object_id=batch,
            _preload_content=False,
            _request_timeout=self._timeout,
        )

    def properties(self, object_type: str) -> Answer:
        """``GET /crm/v3/properties/{object_type}``: ``{"results": [{"name", "type", ...}]}``."""
        return self._answer(
            self._properties.get_all, object_type, _preload_content=False, _request_timeout=self._timeout
        )

    def close(self) -> None:
        """Close the connection pools."""
        for api in (self._basic, self._search, self._associations, self._properties):
            api.api_client.rest_client.pool_manager.clear()

    @staticmethod
    def _answer(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Answer:
        try:
            response = call(*args, **kwargs)
        except AttributeError as exc:
            # hubspot-api-client decodes the body of every ApiException it re-raises, and the one
            # it makes for a TLS failure has none: the real error is the context
            if isinstance(exc.__context__, API_EXCEPTIONS):
                raise exc.__context__ from None
            raise
        body = json.loads(response.data or b"{}")
        return Answer(body if isinstance(body, dict) else {}, RateLimitHeaders.parse(response.headers))
