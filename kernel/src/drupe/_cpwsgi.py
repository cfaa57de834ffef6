"""``drupe._cpwsgi``: CherryPy's module path for the WSGI glue."""

from drupe._wsgi import ClosingBody, WSGIPipeline, downgrade_wsgi_ux_to_1x

CPWSGIApp = WSGIPipeline
