"""The names this distribution gives ``drupe.lib.auth_digest`` (CherryPy's ``lib.auth_digest``).

Registered as ``lib.auth_digest`` in the ``drupe.compat`` entry-point group. Besides
CherryPy's names (``digest_auth``, the three ``get_ha1_*`` factories,
``synthesize_nonce``, ``www_authenticate``, ``HttpDigestAuthorization``, ``H``, ...),
it offers what RFC 7616 adds: ``DigestAuthenticator``, ``MemoryNonceCountStore`` and the
``NonceCountStore`` protocol.
"""

from drupe_tool_auth._digest import (
    DEFAULT_ALGORITHMS,
    DEFAULT_CHARSET,
    FALLBACK_CHARSET,
    DigestAuthenticator,
    H,
    HttpDigestAuthorization,
    digest_auth,
    get_ha1_dict,
    get_ha1_dict_plain,
    get_ha1_file_htdigest,
    md5_hex,
    qop_auth,
    qop_auth_int,
    synthesize_nonce,
    valid_algorithms,
    valid_qops,
    www_authenticate,
)
from drupe_tool_auth._nonce_counts import MemoryNonceCountStore, NonceCountStore

__all__ = [
    "DEFAULT_ALGORITHMS",
    "DEFAULT_CHARSET",
    "FALLBACK_CHARSET",
    "DigestAuthenticator",
    "H",
    "HttpDigestAuthorization",
    "MemoryNonceCountStore",
    "NonceCountStore",
    "digest_auth",
    "get_ha1_dict",
    "get_ha1_dict_plain",
    "get_ha1_file_htdigest",
    "md5_hex",
    "qop_auth",
    "qop_auth_int",
    "synthesize_nonce",
    "valid_algorithms",
    "valid_qops",
    "www_authenticate",
]
