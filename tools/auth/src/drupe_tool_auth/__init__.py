"""drupe-tool-auth: the ``auth_basic`` and ``auth_digest`` tools (RFC 7617, RFC 7616).

This distribution registers four entry points:

* ``auth_basic`` in ``drupe.tools`` -> :data:`basic_tool`, a :class:`BasicAuthTool`
  (``before_handler``, priority 1).
* ``auth_digest`` in ``drupe.tools`` -> :data:`digest_tool`, a :class:`DigestAuthTool`
  (``before_handler``, priority 1; for ``auth-int`` also ``before_request_body``).
* ``lib.auth_basic`` and ``lib.auth_digest`` in ``drupe.compat`` -> :mod:`.compat_basic`
  and :mod:`.compat_digest`, which give ``drupe.lib.auth_basic`` and
  ``drupe.lib.auth_digest`` CherryPy's names.

``_basic`` and ``_digest`` hold the two schemes, ``_headers`` the shared header syntax,
``_nonce_counts`` the replay protection of Digest.
"""

from __future__ import annotations

from drupe_tool_auth._basic import BasicAuthTool, basic_auth, checkpassword_dict
from drupe_tool_auth._basic import tool as basic_tool
from drupe_tool_auth._digest import (
    DEFAULT_ALGORITHMS,
    DigestAuthenticator,
    DigestAuthTool,
    HttpDigestAuthorization,
    digest_auth,
    get_ha1_dict,
    get_ha1_dict_plain,
    get_ha1_file_htdigest,
    synthesize_nonce,
    www_authenticate,
)
from drupe_tool_auth._digest import tool as digest_tool
from drupe_tool_auth._headers import MalformedHeader
from drupe_tool_auth._nonce_counts import MemoryNonceCountStore, NonceCountStore

__all__ = [
    "DEFAULT_ALGORITHMS",
    "BasicAuthTool",
    "DigestAuthTool",
    "DigestAuthenticator",
    "HttpDigestAuthorization",
    "MalformedHeader",
    "MemoryNonceCountStore",
    "NonceCountStore",
    "basic_auth",
    "basic_tool",
    "checkpassword_dict",
    "digest_auth",
    "digest_tool",
    "get_ha1_dict",
    "get_ha1_dict_plain",
    "get_ha1_file_htdigest",
    "synthesize_nonce",
    "www_authenticate",
]
