"""``drupe._cpreqbody``: CherryPy's module path for request bodies and processors."""

from drupe._body import (
    Entity,
    Part,
    RequestBody,
    SizedReader,
    default_processors,
    process_multipart,
    process_multipart_form_data,
    process_urlencoded,
)
