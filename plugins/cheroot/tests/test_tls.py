"""HTTPS with certificates made by the ``openssl`` command, checked by a verifying client."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest

import drupe


def https_get(address: tuple[str, int], path: str, context: ssl.SSLContext) -> tuple[int, bytes]:
    connection = http.client.HTTPSConnection(*address, timeout=10, context=context)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def trusting(cafile: str, **versions: ssl.TLSVersion) -> ssl.SSLContext:
    """A verifying client context (hostname included) that trusts ``cafile`` only."""
    context = ssl.create_default_context(cafile=cafile)
    for name, version in versions.items():
        setattr(context, name, version)
    return context


def test_https_with_a_self_signed_certificate(root: Any, serve: Any, pki: Any) -> None:
    address = serve(root, ssl_module="builtin", ssl_certificate=pki.certificate,
                    ssl_private_key=pki.private_key)
    server = drupe.server.httpserver
    assert server.scheme == "https"
    assert drupe.server.description == f"https://127.0.0.1:{address[1]}"
    client = trusting(pki.certificate)
    assert https_get(address, "/", client) == (200, b"Hello World!")
    assert https_get(address, "/environ?name=HTTPS", client) == (200, b"'on'")
    assert https_get(address, "/environ?name=wsgi.url_scheme", client) == (200, b"'https'")
    assert https_get(address, "/environ?name=SSL_SERVER_S_DN_CN", client) == (200, b"'localhost'")
    # The client really verifies: without our certificate as an authority it refuses.
    with pytest.raises(ssl.SSLCertVerificationError):
        https_get(address, "/", trusting(pki.root))


def test_the_certificate_chain_is_sent_to_clients(root: Any, serve: Any, pki: Any) -> None:
    address = serve(root, ssl_certificate=pki.leaf, ssl_private_key=pki.leaf_key,
                    ssl_certificate_chain=pki.intermediate)
    # The client knows only the root: it needs the intermediate from the server.
    assert https_get(address, "/", trusting(pki.root)) == (200, b"Hello World!")


def test_without_the_chain_clients_cannot_verify(root: Any, serve: Any, pki: Any) -> None:
    address = serve(root, ssl_certificate=pki.leaf, ssl_private_key=pki.leaf_key)
    with pytest.raises(ssl.SSLCertVerificationError):
        https_get(address, "/", trusting(pki.root))


def test_the_key_may_sit_in_the_certificate_file(root: Any, serve: Any, pki: Any,
                                                 tmp_path: Any) -> None:
    combined = tmp_path / "combined.pem"
    combined.write_text(Path(pki.certificate).read_text() + Path(pki.private_key).read_text())
    address = serve(root, ssl_certificate=str(combined))
    assert https_get(address, "/", trusting(pki.certificate)) == (200, b"Hello World!")


def test_a_prebuilt_ssl_context_is_used_as_given(root: Any, serve: Any, pki: Any) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.certificate, pki.private_key)
    minimum_before = context.minimum_version
    address = serve(root, ssl_context=context)
    server = drupe.server.httpserver
    assert server.scheme == "https"
    assert server.ssl_adapter.context is context
    assert context.minimum_version == minimum_before
    assert https_get(address, "/", trusting(pki.certificate)) == (200, b"Hello World!")


def test_an_explicit_minimum_applies_to_a_prebuilt_context(root: Any, serve: Any, pki: Any) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.certificate, pki.private_key)
    serve(root, ssl_context=context, ssl_minimum_version="TLSv1_3")
    assert context.minimum_version is ssl.TLSVersion.TLSv1_3


def test_tls_1_2_is_the_default_minimum(root: Any, serve: Any, pki: Any) -> None:
    address = serve(root, ssl_certificate=pki.certificate, ssl_private_key=pki.private_key)
    context = drupe.server.httpserver.ssl_adapter.context
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    old_client = trusting(pki.certificate, maximum_version=ssl.TLSVersion.TLSv1_2)
    assert https_get(address, "/", old_client) == (200, b"Hello World!")


def test_ssl_minimum_version_refuses_older_clients(root: Any, serve: Any, pki: Any) -> None:
    address = serve(root, ssl_certificate=pki.certificate, ssl_private_key=pki.private_key,
                    ssl_minimum_version="TLSv1_3")
    old_client = trusting(pki.certificate, maximum_version=ssl.TLSVersion.TLSv1_2)
    with pytest.raises(ssl.SSLError):
        https_get(address, "/", old_client)
    assert https_get(address, "/", trusting(pki.certificate)) == (200, b"Hello World!")


def test_ssl_ciphers_limit_the_tls_1_2_ciphers(root: Any, serve: Any, pki: Any) -> None:
    address = serve(root, ssl_certificate=pki.certificate, ssl_private_key=pki.private_key,
                    ssl_ciphers="ECDHE-RSA-AES256-GCM-SHA384")
    client = trusting(pki.certificate, maximum_version=ssl.TLSVersion.TLSv1_2)
    connection = http.client.HTTPSConnection(*address, timeout=10, context=client)
    try:
        connection.request("GET", "/")
        assert connection.getresponse().read() == b"Hello World!"
        assert connection.sock.cipher()[0] == "ECDHE-RSA-AES256-GCM-SHA384"
    finally:
        connection.close()


def test_unknown_ciphers_are_a_startup_error(root: Any, serve: Any, pki: Any) -> None:
    with pytest.raises(drupe.ConfigError, match=r"'server.ssl_ciphers': OpenSSL accepts none of"):
        serve(root, ssl_certificate=pki.certificate, ssl_private_key=pki.private_key,
              ssl_ciphers="NO-SUCH-CIPHER")


def test_a_key_of_another_certificate_is_a_startup_error(root: Any, serve: Any, pki: Any) -> None:
    with pytest.raises(drupe.ConfigError, match=r"'server.ssl_certificate' / "
                                                r"'server.ssl_private_key': the certificate and "
                                                r"key could not be loaded"):
        serve(root, ssl_certificate=pki.certificate, ssl_private_key=pki.other_key)


def test_a_chain_without_certificates_is_a_startup_error(root: Any, serve: Any, pki: Any) -> None:
    with pytest.raises(drupe.ConfigError, match=r"'server.ssl_certificate_chain': .* holds no "
                                                r"PEM certificate"):
        serve(root, ssl_certificate=pki.leaf, ssl_private_key=pki.leaf_key,
              ssl_certificate_chain=pki.leaf_key)


def test_plain_http_on_the_https_port_is_not_served(root: Any, serve: Any, pki: Any) -> None:
    address = serve(root, ssl_certificate=pki.certificate, ssl_private_key=pki.private_key)
    client = socket.create_connection(address, timeout=10)
    reply = b""
    try:
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        # Cheroot tries to answer 400 in plain text, then closes; the close may reset the
        # connection (the request was not read), and a reset may discard that answer.
        with contextlib.suppress(ConnectionResetError):
            while chunk := client.recv(4096):
                reply += chunk
    finally:
        client.close()
    assert b"Hello World!" not in reply
    if reply:
        assert reply.startswith(b"HTTP/1.1 400 Bad Request")


def test_a_kept_alive_tls_connection_serves_request_after_request(root: Any, serve: Any,
                                                                  pki: Any) -> None:
    # The worker waits for the next request on the TLS socket itself (its ssl buffer
    # included), as on plain TCP.
    address = serve(root, ssl_certificate=pki.certificate, ssl_private_key=pki.private_key)
    connection = http.client.HTTPSConnection(*address, timeout=10, context=trusting(pki.certificate))
    try:
        for number in range(10):
            connection.request("GET", f"/echo?n={number}")
            response = connection.getresponse()
            assert response.read() == f"[('n', '{number}')]".encode()
        assert len(drupe.server.httpserver._open_connections) == 1
    finally:
        connection.close()
