"""The ``auth_digest`` tool: HTTP Digest authentication (RFC 7616).

The exchange::

    client                                         server
    GET /page  ------------------------------------>
               <------------------------------------ 401, one challenge per algorithm:
                 WWW-Authenticate: Digest realm="r", qop="auth, auth-int",
                                   algorithm=SHA-256, nonce="...", charset=UTF-8
                 WWW-Authenticate: Digest realm="r", ..., algorithm=MD5, nonce="..."
    GET /page, Authorization: Digest username="u", realm="r", uri="/page",
               algorithm=SHA-256, nonce="...", nc=00000001, cnonce="...", qop=auth,
               response="<KD(H(A1), nonce:nc:cnonce:qop:H(A2))>"  ---->
               <------------------------------------ 200 (request.login = "u")

What the server checks, in this order; every failure is a 401 with fresh challenges:

1. The header parses (``_headers.parse_auth_params``: strict quoting, no duplicate
   parameters), names an algorithm and qop this server offered, and has every field
   (``username`` or ``username*``, ``realm``, ``nonce``, ``uri``, ``response``,
   ``cnonce``, an 8-hex-digit ``nc``). Requests without ``qop`` (RFC 2069 style) are
   refused: without a nonce count they could be replayed.
2. ``realm`` is this server's realm and ``uri`` is the request-target the client sent
   (so a header captured for one resource cannot open another).
3. The nonce was issued by a server holding ``key`` (an HMAC-SHA-256 of its timestamp,
   a random salt and the realm, keyed with ``key``); no state is needed for that, so any
   process sharing the key accepts it.
4. The user exists (``get_ha1``) and the request digest matches, compared in constant
   time.
5. The nonce is younger than ``nonce_lifetime``; an older one gets ``stale=true``, which
   tells the client its password was right and it may retry with the new nonce at once.
6. ``nc`` is higher than any count accepted before with this nonce (``_nonce_counts``);
   a replay also gets ``stale=true`` (its sender learns nothing, and a client whose
   requests overtook each other recovers without asking its user again).

On success ``request.login`` is the user name and, for ``qop=auth``, the response
carries ``Authentication-Info`` with ``rspauth`` (RFC 7616 §3.5), with which the client
can check that the server knows the password too.

HA1 sources (``get_ha1``). CherryPy's ``get_ha1(realm, username)`` returns an MD5 HA1
(hex of ``MD5(username:realm:password)``), and such callables still work — but an MD5
HA1 cannot answer a SHA-256 challenge, so only MD5 is then offered. A source that can do
more says so: it accepts an ``algorithm`` keyword (``"MD5"`` or ``"SHA-256"``) and may
list what it supports in an ``algorithms`` attribute. ``get_ha1_dict_plain`` (plain
passwords) supports both; ``get_ha1_dict(d, algorithm=...)`` holds hashes of one
algorithm; ``get_ha1_file_htdigest`` (Apache's format) is MD5. A source with a
``username_for_userhash(realm, userhash, algorithm)`` method also supports RFC 7616's
hashed user names (``userhash=True``).

``auth-int`` covers the request body: for those requests a ``before_request_body`` hook
reads the body (within ``request.body.maxbytes``) into a spooled file while hashing it,
and puts it back so the body processors read it as usual.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import os
import re
import secrets
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

import drupe
from drupe_tool_auth._headers import (
    MalformedHeader,
    check_charset,
    check_realm,
    decode_ext_value,
    expand_challenges,
    parse_auth_params,
    quote,
    send_challenges,
    split_credentials,
)
from drupe_tool_auth._nonce_counts import MemoryNonceCountStore, NonceCountStore

__all__ = [
    "DEFAULT_ALGORITHMS",
    "DigestAuthTool",
    "DigestAuthenticator",
    "H",
    "HttpDigestAuthorization",
    "digest_auth",
    "get_ha1_dict",
    "get_ha1_dict_plain",
    "get_ha1_file_htdigest",
    "md5_hex",
    "synthesize_nonce",
    "tool",
    "valid_algorithms",
    "valid_qops",
    "www_authenticate",
]

LOG_CONTEXT = "TOOLS.AUTH_DIGEST"
DENIED = "This resource requires Digest authentication: send a valid user name and password."

qop_auth = "auth"
qop_auth_int = "auth-int"
valid_qops = (qop_auth, qop_auth_int)
valid_algorithms = ("MD5", "MD5-sess", "SHA-256", "SHA-256-sess")
DEFAULT_ALGORITHMS = ("SHA-256", "MD5")
DEFAULT_CHARSET = "UTF-8"
FALLBACK_CHARSET = "ISO-8859-1"
DEFAULT_NONCE_LIFETIME = 600
# How far in the future a nonce's timestamp may lie: another process's clock may be ahead.
CLOCK_SKEW = 60

_HASHES: dict[str, Callable[..., Any]] = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
_HEX_LENGTH = {"MD5": 32, "SHA-256": 64}
_CANONICAL = {name.lower(): name for name in valid_algorithms}
_HEX = re.compile(r"[0-9a-fA-F]+")
_NC = re.compile(r"[0-9a-fA-F]{8}")
_NONCE = re.compile(r"(\d{1,12}):([A-Za-z0-9_\-]{1,64}):([A-Za-z0-9_\-]{43})")
_SPOOL_IN_MEMORY = 1 << 20
ENTITY_HASHES_ATTRIBUTE = "_drupe_auth_entity_hashes"
STORE_ATTRIBUTE = "_drupe_auth_digest_nonce_counts"


# -- hashing --------------------------------------------------------------------------


def canonical_algorithm(name: str) -> str | None:
    """``name`` as spelled in :data:`valid_algorithms` (case-insensitive), or None."""
    return _CANONICAL.get(name.strip().lower())


def base_algorithm(algorithm: str) -> str:
    """The hash of ``algorithm``: ``'MD5'`` or ``'SHA-256'`` (``-sess`` removed)."""
    canonical = canonical_algorithm(algorithm)
    if canonical is None:
        raise ValueError(
            f"Unsupported Digest algorithm {algorithm!r}; supported: {', '.join(valid_algorithms)}"
        )
    return canonical.removesuffix("-sess")


def hash_hex(algorithm: str, data: bytes | str) -> str:
    """The lower-case hex digest of ``data`` (text is encoded as UTF-8)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return str(_HASHES[base_algorithm(algorithm)](data).hexdigest())


def H(s: bytes | str, algorithm: str = "MD5") -> str:
    """The hash function H of RFC 7616 (MD5 unless ``algorithm`` says otherwise)."""
    return hash_hex(algorithm, s)


def md5_hex(s: bytes | str) -> str:
    """Hex MD5 of ``s`` (text encoded as UTF-8)."""
    return hash_hex("MD5", s)


def _is_hex(value: object, algorithm: str) -> bool:
    return (isinstance(value, str) and len(value) == _HEX_LENGTH[base_algorithm(algorithm)]
            and _HEX.fullmatch(value) is not None)


# -- nonces ---------------------------------------------------------------------------


def _key_bytes(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


def _nonce_mac(key: str | bytes, timestamp: str, salt: str, s: str) -> str:
    message = f"{timestamp}:{salt}:{s}".encode()
    digest = hmac.new(_key_bytes(key), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def synthesize_nonce(s: str, key: str | bytes, timestamp: int | str | None = None) -> str:
    """A nonce for ``s`` (the realm) that only holders of ``key`` can make or check.

    ``timestamp:salt:mac``: seconds since the epoch, 72 random bits, and the HMAC-SHA-256
    (keyed with ``key``) of both and ``s``. The salt makes every challenge's nonce unique,
    so two clients never share a nonce count.
    """
    stamp = str(int(time.time()) if timestamp is None else int(timestamp))
    salt = secrets.token_urlsafe(9)
    return f"{stamp}:{salt}:{_nonce_mac(key, stamp, salt, s)}"


def nonce_timestamp(nonce: str, s: str, key: str | bytes) -> int | None:
    """The timestamp of ``nonce`` if a holder of ``key`` made it for ``s``, else None."""
    match = _NONCE.fullmatch(nonce)
    if match is None:
        return None
    stamp, salt, mac = match.groups()
    if not hmac.compare_digest(_nonce_mac(key, stamp, salt, s), mac):
        return None
    return int(stamp)


# -- HA1 sources ----------------------------------------------------------------------


def _usernames_matching(usernames: Iterable[str], realm: str, userhash: str, algorithm: str) -> str | None:
    wanted = userhash.lower()
    found = None
    for username in usernames:
        if hmac.compare_digest(hash_hex(algorithm, f"{username}:{realm}"), wanted):
            found = username
    return found


class PlainPasswords:
    """``get_ha1`` from ``{username: plain password}``: any algorithm, hashed user names.

    Made by :func:`get_ha1_dict_plain`. A user whose password is empty or None cannot log
    in (as in CherryPy). The mapping is read on each call.
    """

    algorithms = ("SHA-256", "MD5")

    def __init__(self, user_password_dict: Mapping[str, str], charset: str = "UTF-8") -> None:
        self.passwords = user_password_dict
        self.charset = check_charset(charset, "get_ha1_dict_plain(charset)")

    def __call__(self, realm: str, username: str, algorithm: str = "MD5") -> str | None:
        password = self.passwords.get(username)
        if not password:
            return None
        return hash_hex(algorithm, f"{username}:{realm}:{password}".encode(self.charset, "replace"))

    def username_for_userhash(self, realm: str, userhash: str, algorithm: str) -> str | None:
        return _usernames_matching(list(self.passwords), realm, userhash, algorithm)

    def __repr__(self) -> str:
        return f"<get_ha1_dict_plain of {len(self.passwords)} users>"


class HA1Dict:
    """``get_ha1`` from ``{username: HA1}`` (hex digests made with one ``algorithm``)."""

    def __init__(self, user_ha1_dict: Mapping[str, str], algorithm: str = "MD5") -> None:
        self.hashes = user_ha1_dict
        self.algorithm = base_algorithm(algorithm)
        self.algorithms = (self.algorithm,)

    def __call__(self, realm: str, username: str, algorithm: str = "MD5") -> str | None:
        if base_algorithm(algorithm) != self.algorithm:
            return None
        return self.hashes.get(username)

    def username_for_userhash(self, realm: str, userhash: str, algorithm: str) -> str | None:
        return _usernames_matching(list(self.hashes), realm, userhash, algorithm)

    def __repr__(self) -> str:
        return f"<get_ha1_dict of {len(self.hashes)} {self.algorithm} hashes>"


class HtdigestFile:
    """``get_ha1`` from an Apache ``htdigest`` file (lines ``user:realm:md5-ha1``; MD5 only).

    The file is read on each lookup, so edits apply at once; blank lines and lines that
    do not have three fields are skipped.
    """

    algorithms = ("MD5",)

    def __init__(self, filename: str | os.PathLike[str]) -> None:
        self.filename = os.fspath(filename)

    def _entries(self) -> Iterable[tuple[str, str, str]]:
        with open(self.filename, encoding="utf-8", errors="surrogateescape") as lines:
            for line in lines:
                fields = line.rstrip("\r\n").split(":")
                if len(fields) == 3:
                    yield fields[0], fields[1], fields[2]

    def __call__(self, realm: str, username: str, algorithm: str = "MD5") -> str | None:
        if base_algorithm(algorithm) != "MD5":
            return None
        for user, user_realm, ha1 in self._entries():
            if user == username and user_realm == realm:
                return ha1
        return None

    def username_for_userhash(self, realm: str, userhash: str, algorithm: str) -> str | None:
        users = [user for user, user_realm, _ in self._entries() if user_realm == realm]
        return _usernames_matching(users, realm, userhash, algorithm)

    def __repr__(self) -> str:
        return f"<get_ha1_file_htdigest {self.filename!r}>"


def get_ha1_dict_plain(user_password_dict: Mapping[str, str], charset: str = "UTF-8") -> PlainPasswords:
    """A ``get_ha1`` for plain passwords ``{username: password}`` (MD5 and SHA-256)."""
    return PlainPasswords(user_password_dict, charset)


def get_ha1_dict(user_ha1_dict: Mapping[str, str], algorithm: str = "MD5") -> HA1Dict:
    """A ``get_ha1`` for precomputed HA1 hashes ``{username: hex H(username:realm:password)}``.

    The hashes are MD5 ones (CherryPy's) unless ``algorithm='SHA-256'`` says otherwise;
    only that algorithm is then offered.
    """
    return HA1Dict(user_ha1_dict, algorithm)


def get_ha1_file_htdigest(filename: str | os.PathLike[str]) -> HtdigestFile:
    """A ``get_ha1`` reading an Apache htdigest file (MD5)."""
    return HtdigestFile(filename)


def _accepts_algorithm(get_ha1: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(get_ha1).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is p.VAR_KEYWORD or (p.name == "algorithm" and p.kind in (
        p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)) for p in parameters)


def source_algorithms(get_ha1: Callable[..., Any]) -> tuple[str, ...]:
    """The hashes (``'MD5'``, ``'SHA-256'``) a ``get_ha1`` source can give HA1s for."""
    declared = getattr(get_ha1, "algorithms", None)
    if declared is not None:
        if isinstance(declared, str):
            declared = (declared,)
        return tuple(dict.fromkeys(base_algorithm(name) for name in declared))
    return ("MD5", "SHA-256") if _accepts_algorithm(get_ha1) else ("MD5",)


# -- the Authorization header ---------------------------------------------------------


def _decode_text(raw: str, charset: str) -> str:
    """A header's latin-1-decoded text read as ``charset`` (ISO-8859-1 when that fails)."""
    if charset == "UTF-8" and not raw.isascii():
        try:
            return raw.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return raw


class HttpDigestAuthorization:
    """A parsed Digest Authorization header; recomputes the request digest.

    Raises :class:`~drupe_tool_auth._headers.MalformedHeader` (a ``ValueError``) when the
    header breaks RFC 7616's syntax or rules. ``username`` is the decoded user name (from
    ``username*`` when sent); with ``userhash`` true it is the hash the client sent.
    """

    scheme = "digest"

    def __init__(self, auth_header: str, http_method: str, debug: bool = False,
                 accept_charset: str = DEFAULT_CHARSET) -> None:
        self.http_method = http_method
        self.debug = debug
        self.auth_header = auth_header
        charset = check_charset(accept_charset, "accept_charset")
        scheme, rest = split_credentials(auth_header)
        if scheme != self.scheme:
            raise MalformedHeader(f"the Authorization header uses the {scheme!r} scheme, not Digest")
        params = parse_auth_params(rest)
        self.params = params
        missing = [name for name in ("realm", "nonce", "uri", "response") if not params.get(name)]
        if "username" not in params and "username*" not in params:
            missing.insert(0, "username")
        if missing:
            raise MalformedHeader(f"the Digest credentials lack {', '.join(missing)}")
        algorithm = canonical_algorithm(params.get("algorithm", "MD5"))
        if algorithm is None:
            raise MalformedHeader(f"the algorithm {params['algorithm']!r} is not supported")
        self.algorithm = algorithm
        userhash = params.get("userhash", "false").lower()
        if userhash not in ("true", "false"):
            raise MalformedHeader("userhash must be true or false")
        self.userhash = userhash == "true"
        if "username*" in params:
            if "username" in params:
                raise MalformedHeader("username and username* must not both be sent")
            if self.userhash:
                raise MalformedHeader("username* cannot carry a hashed user name")
            self.username = decode_ext_value(params["username*"])
        else:
            self.username = _decode_text(params["username"], charset)
        self.realm = params["realm"]
        self.nonce = params["nonce"]
        self.uri = params["uri"]
        self.response = params["response"]
        if not _is_hex(self.response, algorithm):
            raise MalformedHeader(f"the response is not a {algorithm} digest in hex")
        self.opaque = params.get("opaque")
        self.cnonce = params.get("cnonce")
        self.nc = params.get("nc")
        self.qop = params.get("qop")
        self.method = http_method
        if self.qop is not None:
            if self.qop not in valid_qops:
                raise MalformedHeader(f"the qop {self.qop!r} is not supported")
            if not self.cnonce or not self.nc:
                raise MalformedHeader("with qop, cnonce and nc are required")
            if not _NC.fullmatch(self.nc) or int(self.nc, 16) == 0:
                raise MalformedHeader("nc must be 8 hexadecimal digits, from 00000001")
        elif self.cnonce is not None or self.nc is not None:
            raise MalformedHeader("cnonce and nc are only sent with qop")

    @classmethod
    def matches(cls, header: str) -> bool:
        """True when ``header`` uses the Digest scheme."""
        return header.strip().partition(" ")[0].lower() == cls.scheme

    @property
    def nonce_count(self) -> int:
        """``nc`` as a number (0 without qop)."""
        return int(self.nc, 16) if self.nc else 0

    def __str__(self) -> str:
        return f"authorization : {self.auth_header}"

    def validate_nonce(self, s: str, key: str | bytes) -> bool:
        """True when a holder of ``key`` made this nonce for ``s`` (see :func:`synthesize_nonce`)."""
        return nonce_timestamp(self.nonce, s, key) is not None

    def is_nonce_stale(self, max_age_seconds: float = DEFAULT_NONCE_LIFETIME) -> bool:
        """True when the nonce's timestamp is older than ``max_age_seconds`` (validate first)."""
        stamp = self.nonce.split(":", 1)[0]
        if not stamp.isdigit():
            return True
        return int(stamp) + max_age_seconds <= time.time()

    def _h(self, data: str | bytes) -> str:
        return hash_hex(self.algorithm, data.encode("latin-1") if isinstance(data, str) else data)

    def HA2(self, entity_body: bytes | str = b"", *, body_hash: str | None = None) -> str:
        """H(A2): ``H(method:uri)``, or ``H(method:uri:H(entity-body))`` for auth-int."""
        if self.qop == qop_auth_int:
            if body_hash is None:
                body = entity_body.encode("utf-8") if isinstance(entity_body, str) else bytes(entity_body)
                body_hash = self._h(body)
            return self._h(f"{self.http_method}:{self.uri}:{body_hash}")
        return self._h(f"{self.http_method}:{self.uri}")

    def session_ha1(self, ha1: str) -> str:
        """The HA1 the digest uses: ``ha1`` itself, or H(ha1:nonce:cnonce) for ``-sess``."""
        ha1 = ha1.lower()
        if self.algorithm.endswith("-sess"):
            return self._h(f"{ha1}:{self.nonce}:{self.cnonce}")
        return ha1

    def _kd(self, ha1: str, ha2: str) -> str:
        if self.qop:
            return self._h(f"{self.session_ha1(ha1)}:{self.nonce}:{self.nc}:{self.cnonce}:{self.qop}:{ha2}")
        return self._h(f"{self.session_ha1(ha1)}:{self.nonce}:{ha2}")

    def request_digest(self, ha1: str, entity_body: bytes | str = b"", *,
                       body_hash: str | None = None) -> str:
        """The request digest the client should have sent, given the user's ``ha1``."""
        return self._kd(ha1, self.HA2(entity_body, body_hash=body_hash))

    def response_auth(self, ha1: str) -> str:
        """``rspauth`` for Authentication-Info (qop=auth): the digest with A2 = ``:uri``."""
        return self._kd(ha1, self._h(f":{self.uri}"))


# -- the tool -------------------------------------------------------------------------


def _raw_authorization(request: Any) -> str | None:
    environ = request.wsgi_environ
    header = environ.get("HTTP_AUTHORIZATION") if environ is not None else None
    if header is None:
        header = request.headers.get("Authorization")
    return header  # type: ignore[no-any-return]


def target_matches(uri: str, environ: Mapping[str, Any] | None) -> bool:
    """True when ``uri`` (the Digest ``uri``) is the request-target the client sent."""
    environ = environ or {}
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw:
        if uri == raw:
            return True
        if "://" in raw.partition("?")[0]:
            # absolute-form (through a proxy): the client may sign the path and query.
            parts = urllib.parse.urlsplit(raw)
            origin = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            return uri == origin
        return False
    # No raw target (some WSGI hosts): compare with what the server decoded.
    path, question, query = uri.partition("?")
    if not path.startswith("/") and path != "*":
        return False
    decoded = urllib.parse.unquote_to_bytes(path).decode("latin-1")
    expected_path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"
    return decoded == expected_path and query == environ.get("QUERY_STRING", "") and (
        bool(question) == bool(environ.get("QUERY_STRING")))


def _check_key(value: Any, key: str) -> str | bytes:
    if isinstance(value, (str, bytes)) and value:
        return value
    raise drupe.ConfigError(
        f"Config key {key!r}: Digest authentication needs a secret key (a non-empty string) "
        f"to sign its nonces, not {value!r}. Use the same key in every process serving the "
        "application, e.g. secrets.token_hex(32) stored with the rest of the config."
    )


def _check_algorithms(value: Any, key: str) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else value
    try:
        result = tuple(dict.fromkeys(canonical_algorithm(str(name)) or "" for name in names))
    except TypeError:
        result = ("",)
    if not result or "" in result:
        raise drupe.ConfigError(
            f"Config key {key!r}: algorithms must list Digest algorithms among "
            f"{', '.join(valid_algorithms)} (most preferred first), not {value!r}."
        )
    return result


def _check_qops(value: Any, key: str) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else value
    try:
        result = tuple(dict.fromkeys(str(name).strip().lower() for name in names))
    except TypeError:
        result = ()
    if not result or any(name not in valid_qops for name in result):
        raise drupe.ConfigError(
            f"Config key {key!r}: qop must list 'auth' and/or 'auth-int', not {value!r}."
        )
    return result


def _check_lifetime(value: Any, key: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 10**9:
        return float(value)
    raise drupe.ConfigError(
        f"Config key {key!r}: nonce_lifetime must be a positive number of seconds, not {value!r}."
    )


class DigestAuthenticator:
    """One checked Digest configuration; :meth:`authenticate` is the ``before_handler`` hook.

    Built once per path by the tool (or per call by :func:`digest_auth`); the arguments
    are those of :func:`digest_auth`, and a bad one raises ``drupe.ConfigError`` naming
    ``<prefix>.<argument>``.
    """

    def __init__(self, realm: str, get_ha1: Callable[..., Any], key: str | bytes, *,
                 debug: bool = False, accept_charset: str = "utf-8",
                 algorithms: Iterable[str] | str = DEFAULT_ALGORITHMS,
                 qop: Iterable[str] | str = valid_qops,
                 nonce_lifetime: float = DEFAULT_NONCE_LIFETIME,
                 userhash: bool = False, nonce_counts: NonceCountStore | None = None,
                 prefix: str = "tools.auth_digest") -> None:
        self.realm = check_realm(realm, f"{prefix}.realm")
        _check_get_ha1(get_ha1, f"{prefix}.get_ha1")
        self.get_ha1 = get_ha1
        self.key = _check_key(key, f"{prefix}.key")
        self.debug = bool(debug)
        self.charset = check_charset(accept_charset, f"{prefix}.accept_charset")
        wanted = _check_algorithms(algorithms, f"{prefix}.algorithms")
        supported = source_algorithms(get_ha1)
        self.algorithms = tuple(name for name in wanted if base_algorithm(name) in supported)
        if not self.algorithms:
            raise drupe.ConfigError(
                f"Config key '{prefix}.algorithms': none of {', '.join(wanted)} can be used, "
                f"because get_ha1 ({get_ha1!r}) only gives {', '.join(supported)} hashes."
            )
        self.passes_algorithm = _accepts_algorithm(get_ha1)
        self.qops = _check_qops(qop, f"{prefix}.qop")
        self.nonce_lifetime = _check_lifetime(nonce_lifetime, f"{prefix}.nonce_lifetime")
        self.userhash = bool(userhash)
        if self.userhash and not callable(getattr(get_ha1, "username_for_userhash", None)):
            raise drupe.ConfigError(
                f"Config key '{prefix}.userhash': hashed user names need a get_ha1 with a "
                "username_for_userhash(realm, userhash, algorithm) method (get_ha1_dict_plain, "
                f"get_ha1_dict and get_ha1_file_htdigest have one); {get_ha1!r} has not."
            )
        _check_store(nonce_counts, f"{prefix}.nonce_counts")
        self.nonce_counts = nonce_counts
        self._fallback_store: MemoryNonceCountStore | None = None

    # -- challenges ---------------------------------------------------------------------

    def challenge(self, algorithm: str, nonce: str, stale: bool = False) -> str:
        """One ``WWW-Authenticate`` value offering ``algorithm``."""
        parts = [f"realm={quote(self.realm)}", f'qop="{", ".join(self.qops)}"',
                 f"algorithm={algorithm}", f"nonce={quote(nonce)}"]
        if stale:
            parts.append("stale=true")
        if self.charset == "UTF-8":
            parts.append("charset=UTF-8")
        if self.userhash:
            parts.append("userhash=true")
        return "Digest " + ", ".join(parts)

    def challenges(self, stale: bool = False) -> list[str]:
        """One challenge per offered algorithm, most preferred first, sharing a fresh nonce."""
        nonce = synthesize_nonce(self.realm, self.key)
        return [self.challenge(algorithm, nonce, stale) for algorithm in self.algorithms]

    def deny(self, reason: str, stale: bool = False) -> NoReturn:
        """Answer 401 with fresh challenges (``stale=true`` when asked); always raises."""
        if self.debug:
            drupe.log(f"401{' (stale)' if stale else ''}: {reason}.", LOG_CONTEXT)
        send_challenges(self.challenges(stale), DENIED)

    # -- state --------------------------------------------------------------------------

    def store(self, request: Any) -> NonceCountStore:
        """The nonce-count store: the configured one, else the application's own."""
        if self.nonce_counts is not None:
            return self.nonce_counts
        app = request.app
        if app is not None:
            store = app.__dict__.get(STORE_ATTRIBUTE)
            if store is None:
                # setdefault is atomic: two threads racing here end up with one store.
                store = app.__dict__.setdefault(STORE_ATTRIBUTE, MemoryNonceCountStore())
            return store  # type: ignore[no-any-return]
        if self._fallback_store is None:
            self._fallback_store = MemoryNonceCountStore()
        return self._fallback_store

    def lookup_ha1(self, username: str, algorithm: str) -> str | None:
        """The user's HA1 for ``algorithm``'s hash, or None."""
        base = base_algorithm(algorithm)
        if self.passes_algorithm:
            ha1 = self.get_ha1(self.realm, username, algorithm=base)
        elif base == "MD5":
            ha1 = self.get_ha1(self.realm, username)
        else:
            return None
        if ha1 is None:
            return None
        if not _is_hex(ha1, base):
            drupe.log(
                f"get_ha1 ({self.get_ha1!r}) returned {ha1!r} for {username!r}, which is not a "
                f"{base} digest in hex: that user cannot log in with {algorithm}.",
                LOG_CONTEXT, severity=40,
            )
            return None
        return str(ha1)

    # -- the hooks ----------------------------------------------------------------------

    def capture_entity(self) -> None:
        """``before_request_body`` hook: hash (and keep) the body of ``auth-int`` requests."""
        request = drupe.serving.request
        header = _raw_authorization(request)
        if not header or "auth-int" not in header or qop_auth_int not in self.qops:
            return
        try:
            authorization = HttpDigestAuthorization(header, request.method, accept_charset=self.charset)
        except MalformedHeader:
            return
        if authorization.qop != qop_auth_int:
            return
        hashes = _hash_entity(request, {base_algorithm(name) for name in self.algorithms})
        setattr(request, ENTITY_HASHES_ATTRIBUTE, hashes)

    def authenticate(self) -> None:
        """``before_handler`` hook: let the request through or answer 401 (module docstring)."""
        request = drupe.serving.request
        header = _raw_authorization(request)
        if header is None:
            self.deny("no credentials were sent")
        try:
            auth = HttpDigestAuthorization(header, request.method, accept_charset=self.charset)
        except MalformedHeader as exc:
            self.deny(f"malformed Authorization header: {exc}")
        if auth.algorithm not in self.algorithms:
            self.deny(f"the algorithm {auth.algorithm} was not offered")
        if auth.qop is None or auth.qop not in self.qops:
            self.deny(f"the qop {auth.qop!r} was not offered (qop is required)")
        if auth.realm != self.realm and _decode_text(auth.realm, "UTF-8") != self.realm:
            self.deny(f"the realm {auth.realm!r} is not {self.realm!r}")
        if not target_matches(auth.uri, request.wsgi_environ):
            self.deny(f"the uri {auth.uri!r} is not this request's target")
        issued = nonce_timestamp(auth.nonce, self.realm, self.key)
        if issued is None:
            self.deny("the nonce was not issued by this server (or with another key)")
        username = auth.username
        if auth.userhash:
            resolve = getattr(self.get_ha1, "username_for_userhash", None)
            found = None
            if callable(resolve):
                found = resolve(self.realm, username, base_algorithm(auth.algorithm))
            if found is None:
                self.deny("the hashed user name matches no user")
            username = found
        ha1 = self.lookup_ha1(username, auth.algorithm)
        if ha1 is None:
            self.deny(f"no {auth.algorithm} credentials for {username!r}")
        body_hash = self._body_hash(request, auth)
        expected = auth.request_digest(ha1, body_hash=body_hash)
        if not hmac.compare_digest(expected, auth.response.lower()):
            self.deny(f"wrong response digest for {username!r}")
        now = time.time()
        if issued + self.nonce_lifetime <= now or issued > now + CLOCK_SKEW:
            self.deny("the nonce has expired", stale=True)
        if not self.store(request).advance(auth.nonce, auth.nonce_count, issued,
                                           issued + self.nonce_lifetime):
            self.deny(f"nc {auth.nc} was not higher than the last one with this nonce (a replay?)",
                      stale=True)
        request.login = username
        if auth.qop == qop_auth:
            drupe.serving.response.headers["Authentication-Info"] = (
                f'qop=auth, rspauth="{auth.response_auth(ha1)}", cnonce={quote(auth.cnonce or "")}, '
                f"nc={auth.nc}"
            )
        if self.debug:
            drupe.log(f"Authenticated {username!r} ({auth.algorithm}, qop={auth.qop}).", LOG_CONTEXT)

    def _body_hash(self, request: Any, auth: HttpDigestAuthorization) -> str | None:
        if auth.qop != qop_auth_int:
            return None
        base = base_algorithm(auth.algorithm)
        hashes = request.__dict__.get(ENTITY_HASHES_ATTRIBUTE)
        if hashes is not None:
            return hashes[base]  # type: ignore[no-any-return]
        if _has_body(request.wsgi_environ):
            # digest_auth() called from a hook of its own, after the body was read.
            self.deny("auth-int needs the auth_digest tool (tools.auth_digest.on) to see the body")
        return hash_hex(base, b"")

    def __repr__(self) -> str:
        return f"<DigestAuthenticator realm={self.realm!r} algorithms={self.algorithms} qop={self.qops}>"


def _has_body(environ: Mapping[str, Any] | None) -> bool:
    environ = environ or {}
    length = str(environ.get("CONTENT_LENGTH") or "").strip()
    if length not in ("", "0"):
        return True
    return "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()


def _hash_entity(request: Any, algorithms: set[str]) -> dict[str, str]:
    """Hash the request body while spooling it, and give the spool back to the request."""
    environ = request.wsgi_environ or {}
    hashers = {name: _HASHES[name]() for name in algorithms}
    if not _has_body(environ):
        return {name: hasher.hexdigest() for name, hasher in hashers.items()}
    length_text = str(environ.get("CONTENT_LENGTH") or "").strip()
    remaining: int | None = None
    if length_text:
        if not length_text.isdigit():
            raise drupe.HTTPError(400, f"Malformed Content-Length header: {length_text!r}.")
        remaining = int(length_text)
    body_was_built = "body" in request.__dict__
    limit = request.body.maxbytes
    if remaining is not None and limit is not None and remaining > limit:
        raise drupe.HTTPError(413, f"The request body is larger than the limit of {limit} bytes.")
    rfile = request.rfile
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 - closed at on_end_request
    request.hooks.attach("on_end_request", spool.close, failsafe=True)
    total = 0
    while remaining is None or remaining > 0:
        chunk = rfile.read(65536 if remaining is None else min(65536, remaining))
        if not chunk:
            break
        total += len(chunk)
        if limit is not None and total > limit:
            raise drupe.HTTPError(413, f"The request body is larger than the limit of {limit} bytes.")
        if remaining is not None:
            remaining -= len(chunk)
        spool.write(chunk)
        for hasher in hashers.values():
            hasher.update(chunk)
    spool.seek(0)
    request.rfile = spool
    if body_was_built:
        # Another hook built request.body on the old stream: point it at the spool.
        body = request.body
        body.fp = spool
        if hasattr(body, "_raw_fp"):
            body._raw_fp = spool
    else:
        # Built above only to read maxbytes: let it be built again on the spool.
        request.__dict__.pop("body", None)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def www_authenticate(realm: str, key: str | bytes, algorithm: str = "MD5", nonce: str | None = None,
                     qop: str = qop_auth, stale: bool = False, accept_charset: str = DEFAULT_CHARSET) -> str:
    """One Digest ``WWW-Authenticate`` value (a fresh nonce unless ``nonce`` is given)."""
    canonical = canonical_algorithm(algorithm)
    if canonical is None:
        raise ValueError(f"Unsupported value for algorithm: {algorithm!r}")
    if qop not in valid_qops:
        raise ValueError(f"Unsupported value for qop: {qop!r}")
    authenticator = DigestAuthenticator(realm, PlainPasswords({}), key, accept_charset=accept_charset,
                                        algorithms=(canonical,), qop=(qop,), prefix="www_authenticate")
    return authenticator.challenge(canonical, nonce or synthesize_nonce(realm, key), stale)


def digest_auth(realm: str, get_ha1: Callable[..., Any], key: str | bytes, debug: bool = False,
                accept_charset: str = "utf-8", algorithms: Iterable[str] | str = DEFAULT_ALGORITHMS,
                qop: Iterable[str] | str = valid_qops, nonce_lifetime: float = DEFAULT_NONCE_LIFETIME,
                userhash: bool = False, nonce_counts: NonceCountStore | None = None) -> None:
    """Require HTTP Digest credentials (RFC 7616) for the current request.

    ``realm``: the protection space; ``get_ha1``: the user's HA1 source (see the module
    docstring); ``key``: the secret that signs nonces (the same in every process);
    ``algorithms``: offered, most preferred first (``'SHA-256', 'MD5'``; also
    ``'SHA-256-sess'``, ``'MD5-sess'``); ``qop``: ``'auth'`` and/or ``'auth-int'``;
    ``nonce_lifetime``: seconds a nonce is accepted (600); ``userhash``: offer hashed user
    names; ``nonce_counts``: a shared :class:`NonceCountStore` (default: per application
    and process); ``accept_charset``: ``'utf-8'`` (announced) or ``'iso-8859-1'``.
    """
    DigestAuthenticator(realm, get_ha1, key, debug=debug, accept_charset=accept_charset,
                        algorithms=algorithms, qop=qop, nonce_lifetime=nonce_lifetime,
                        userhash=userhash, nonce_counts=nonce_counts).authenticate()


_REQUIRED = ("realm", "get_ha1", "key")


def _check_get_ha1(value: Any, key: str) -> None:
    if not callable(value):
        raise drupe.ConfigError(
            f"Config key {key!r}: get_ha1 must be a callable get_ha1(realm, username) returning "
            f"the user's HA1 (see get_ha1_dict_plain), not {value!r}."
        )


def _check_store(value: Any, key: str) -> None:
    if value is not None and not isinstance(value, NonceCountStore):
        raise drupe.ConfigError(
            f"Config key {key!r}: expected an object with an advance(nonce, count, issued, "
            f"expires) method (a NonceCountStore), not {value!r}."
        )


_ARGUMENT_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "realm": check_realm,
    "get_ha1": _check_get_ha1,
    "key": _check_key,
    "accept_charset": check_charset,
    "algorithms": _check_algorithms,
    "qop": _check_qops,
    "nonce_lifetime": _check_lifetime,
    "nonce_counts": _check_store,
}


class DigestAuthTool(drupe.Tool):
    """The ``auth_digest`` tool: :func:`digest_auth` at ``before_handler``, priority 1.

    Its arguments are checked and compiled into a :class:`DigestAuthenticator` once per
    path; for ``auth-int`` it also attaches a ``before_request_body`` hook (priority 1)
    that hashes the body, and an ``on_end_resource`` hook that writes one
    WWW-Authenticate header per challenge.
    """

    def __init__(self, callable: Callable[..., Any] = digest_auth, priority: float = 1) -> None:
        super().__init__("before_handler", callable, priority=priority)

    def _prefix(self) -> str:
        return f"{self.namespace}.{self.name or 'auth_digest'}"

    def _authenticator(self, arguments: Mapping[str, Any]) -> DigestAuthenticator:
        prefix = self._prefix()
        for name in _REQUIRED:
            if name not in arguments:
                raise drupe.ConfigError(
                    f"Config key '{prefix}.{name}' is missing: Digest authentication needs "
                    f"{', '.join(_REQUIRED)}."
                )
        options = {key: value for key, value in arguments.items() if key not in _REQUIRED}
        return DigestAuthenticator(arguments["realm"], arguments["get_ha1"], arguments["key"],
                                   prefix=prefix, **options)

    def _check_each(self, arguments: Mapping[str, Any]) -> None:
        prefix = self._prefix()
        for name, value in arguments.items():
            check = _ARGUMENT_CHECKS.get(name)
            if check is not None:
                check(value, f"{prefix}.{name}")

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Validate config values.

        At engine start the kernel passes one key at a time: each value is checked on its
        own. When a path's plan is built it passes the path's merged settings: with the
        tool on and every required argument there, they are checked together (an
        ``algorithms`` list that ``get_ha1`` cannot serve, ``userhash`` without a source
        that resolves hashed names).
        """
        arguments = {key: value for key, value in settings.items() if key not in ("on", "priority")}
        self._check_each(arguments)
        if settings.get("on") and all(name in arguments for name in _REQUIRED):
            self._authenticator(arguments)

    def __call__(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        """Decorator use; arguments are checked now (together when all required are given)."""
        self._check_each(kwargs)
        if all(name in kwargs for name in _REQUIRED):
            self._authenticator(kwargs)
        return super().__call__(*args, **kwargs)

    def _setup(self) -> None:
        arguments = self._merged_args()
        priority = arguments.pop("priority", None)
        if priority is None:
            priority = self.priority
        authenticator = self._authenticator(arguments)
        hooks = drupe.request.hooks
        # PERF: the configuration is checked and compiled once per path, not per request.
        hooks.attach(self.point, authenticator.authenticate, priority=priority)
        if qop_auth_int in authenticator.qops:
            hooks.attach("before_request_body", authenticator.capture_entity, priority=1)
        if len(authenticator.algorithms) > 1:
            hooks.attach("on_end_resource", expand_challenges, failsafe=True, priority=50)


tool = DigestAuthTool()
"""The instance registered as ``auth_digest`` in the ``drupe.tools`` entry-point group."""
