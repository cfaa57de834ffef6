"""``drupe._cperror``: CherryPy's module path for the HTTP exceptions."""

from drupe._errors import (
    CherryPyException,
    HTTPError,
    HTTPRedirect,
    InternalRedirect,
    NotFound,
    TimeoutError,
    bare_error,
    clean_headers,
    format_exc,
    get_error_page,
)
