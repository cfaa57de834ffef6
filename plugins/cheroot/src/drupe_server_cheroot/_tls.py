"""HTTPS: one ``ssl.SSLContext`` per server, built from the ``server.ssl_*`` keys.

Cheroot's own adapter for Python's ssl module loads the certificate files itself, and
treats ``certificate_chain`` as the authorities used to check *client* certificates, so
the intermediate certificates a browser needs are never sent. Here the context is built
first, with every failure reported against the config key that caused it, and handed to
a thin subclass of cheroot's adapter that keeps the rest of cheroot's behaviour (the
handshake, the answer to plain HTTP on a TLS port, the ``HTTPS`` / ``SSL_*`` WSGI environ
entries).

Which keys count:

* ``server.ssl_context`` (an ``ssl.SSLContext``): used as given; it must already hold
  its certificate. ``server.ssl_ciphers`` and an *explicitly set*
  ``server.ssl_minimum_version`` are applied to it; ``server.ssl_certificate`` only feeds
  the ``SSL_SERVER_*`` environ entries.
* otherwise ``server.ssl_certificate`` (PEM) with ``server.ssl_private_key`` (PEM; when
  unset the key is read from the certificate file), ``server.ssl_certificate_chain``
  (PEM intermediates, sent after the certificate), ``server.ssl_ciphers`` (OpenSSL
  cipher list) and ``server.ssl_minimum_version`` (default TLS 1.2).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import ssl
import tempfile
from typing import Any

from cheroot.ssl import Adapter
from cheroot.ssl.builtin import BuiltinSSLAdapter

import drupe
from drupe_server_cheroot._settings import ServerConfig
from drupe_server_cheroot._socketfile import socket_file

__all__ = ["TLSAdapter", "build_context", "build_tls_adapter"]

_PEM_CERTIFICATE = re.compile(
    r"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL
)


class TLSAdapter(BuiltinSSLAdapter):
    """Cheroot's ssl-module adapter around a context that is already configured."""

    def __init__(self, context: ssl.SSLContext, certificate: str | None = None,
                 private_key: str | None = None, certificate_chain: str | None = None,
                 ciphers: str | None = None) -> None:
        # The base Adapter only records the names; BuiltinSSLAdapter.__init__ (skipped on
        # purpose) would load the files a second time into a context of its own.
        Adapter.__init__(self, certificate, private_key, certificate_chain, ciphers)
        # Assigning through cheroot's property installs its SNI callback (which records
        # the requested server name for the SSL_TLS_SNI environ entry).
        self.context = context
        self._server_env = self._server_environ(certificate)

    def makefile(self, sock: Any, mode: str = "r", bufsize: int = io.DEFAULT_BUFFER_SIZE) -> Any:
        """The connection's reader or writer: the C-buffered ones, as for plain TCP."""
        return socket_file(sock, mode, bufsize)

    def _server_environ(self, certificate: str | None) -> dict[str, str]:
        """The ``SSL_SERVER_*`` environ entries describing our certificate."""
        if certificate is None:
            return {}
        environ: dict[str, str] = {}
        # The stdlib exposes certificate parsing only through this helper (cheroot uses
        # it too); without it the entries are simply left out.
        with contextlib.suppress(Exception):
            decoded = ssl._ssl._test_decode_cert(certificate)  # type: ignore[attr-defined]
            environ.update(self._make_env_cert_dict("SSL_SERVER", decoded))  # type: ignore[attr-defined]
        with contextlib.suppress(OSError, UnicodeDecodeError):
            with open(certificate, encoding="ascii") as pem:
                first = _PEM_CERTIFICATE.search(pem.read())
            if first:
                environ["SSL_SERVER_CERT"] = first.group(0)
        return environ


def _config_error(keys: str, problem: str) -> drupe.ConfigError:
    return drupe.ConfigError(f"Config key {keys}: {problem}")


def _certificates_in(path: str, key: str) -> list[str]:
    try:
        with open(path, encoding="ascii") as pem:
            text = pem.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise _config_error(f"'server.{key}'", f"cannot read {path!r} as a PEM file: {exc}.")
    certificates = _PEM_CERTIFICATE.findall(text)
    if not certificates:
        raise _config_error(f"'server.{key}'", f"{path!r} holds no PEM certificate "
                                               "('-----BEGIN CERTIFICATE-----').")
    return certificates


def _load_certificate(context: ssl.SSLContext, config: ServerConfig) -> None:
    certificate = config.ssl_certificate
    assert certificate is not None
    # Without an explicit key file, OpenSSL finds the key inside the certificate file.
    key_file = config.ssl_private_key or certificate
    keys = "'server.ssl_certificate' / 'server.ssl_private_key'"
    if config.ssl_certificate_chain is None:
        cert_file, temporary = certificate, None
    else:
        # ssl.SSLContext.load_cert_chain sends every certificate of its certfile: the
        # leaf, then the intermediates. Put ours and the chain's (certificates only, never
        # a key) into a private temporary file, load it, and remove it at once.
        pems = _certificates_in(certificate, "ssl_certificate")[:1]
        pems += _certificates_in(config.ssl_certificate_chain, "ssl_certificate_chain")
        descriptor, temporary = tempfile.mkstemp(prefix="drupe-tls-chain-", suffix=".pem")
        with os.fdopen(descriptor, "w", encoding="ascii") as combined:
            combined.write("\n".join(pems) + "\n")
        cert_file = temporary
        keys = "'server.ssl_certificate' / 'server.ssl_private_key' / 'server.ssl_certificate_chain'"
    try:
        context.load_cert_chain(cert_file, key_file)
    except ssl.SSLError as exc:
        raise _config_error(keys, f"the certificate and key could not be loaded ({exc}). They "
                                  "must be PEM files, and the key must belong to the certificate.")
    except OSError as exc:
        raise _config_error(keys, f"the certificate and key could not be read ({exc}).")
    finally:
        if temporary is not None:
            os.unlink(temporary)


def build_context(config: ServerConfig) -> ssl.SSLContext:
    """The server-side context the ``server.ssl_*`` keys describe (see the module doc)."""
    if config.ssl_context is not None:
        context = config.ssl_context
    else:
        # Purpose.CLIENT_AUTH makes a server-side context with the stdlib's safe defaults
        # (no compression, no renegotiation by clients, ...); clients are not asked for
        # certificates unless the application builds its own ssl_context.
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        _load_certificate(context, config)
    if config.ssl_minimum_version is not None:
        try:
            context.minimum_version = config.ssl_minimum_version
        except ValueError as exc:
            raise _config_error("'server.ssl_minimum_version'",
                                f"{config.ssl_minimum_version.name} is not accepted here ({exc}).")
    if config.ssl_ciphers is not None:
        try:
            context.set_ciphers(config.ssl_ciphers)
        except ssl.SSLError as exc:
            raise _config_error("'server.ssl_ciphers'",
                                f"OpenSSL accepts none of {config.ssl_ciphers!r} ({exc}).")
    return context


def build_tls_adapter(config: ServerConfig) -> Any:
    """A cheroot TLS adapter for ``config``, or ``None`` when the server speaks plain HTTP."""
    if not config.tls:
        return None
    return TLSAdapter(build_context(config), config.ssl_certificate, config.ssl_private_key,
                      config.ssl_certificate_chain, config.ssl_ciphers)
