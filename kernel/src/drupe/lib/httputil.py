"""``drupe.lib.httputil``: HTTP helpers (the kernel's ``_httputil``)."""

from drupe._httputil import *  # noqa: F403
from drupe._httputil import (
    AcceptElement,
    CaseInsensitiveDict,
    EntityTag,
    HeaderElement,
    HeaderMap,
    Host,
    HTTPDate,
    SanitizedHost,
    decode_TEXT,
    decode_TEXT_maybe,
    get_ranges,
    header_elements,
    is_token,
    parse_entity_tags,
    parse_http_date,
    parse_query_string,
    protocol_from_http,
    response_codes,
    split_host,
    split_outside_quotes,
    urljoin,
    urljoin_bytes,
    valid_status,
)
