"""Reading Accept-Encoding and matching media-type patterns, without a request."""

from __future__ import annotations

import pytest

from drupe_tool_gzip import MediaTypes, acceptance, media_types


@pytest.mark.parametrize(
    ("header", "gzip_quality", "identity_acceptable", "label"),
    [
        (None, 0.0, True, "gzip"),
        ("", 0.0, True, "gzip"),
        ("gzip;q=0.3", 0.3, True, "gzip"),
        ("gzip;q=0.3, x-gzip;q=0.7", 0.7, True, "x-gzip"),
        ("x-gzip;q=0.3, gzip;q=0.3", 0.3, True, "gzip"),
        ("*;q=0.4", 0.4, True, "gzip"),
        ("*;q=0", 0.0, False, "gzip"),
        ("*;q=0, identity;q=0.1", 0.0, True, "gzip"),
        ("gzip;q=1.001", 1.0, True, "gzip"),  # out of range: as if absent
        ("gzip;q=-1", 1.0, True, "gzip"),
        ("gzip;q=0.5, gzip;q=0", 0.5, True, "gzip"),  # listed twice: the better rating
        ("Identity;Q=0, GZip", 1.0, False, "gzip"),
        ("identity;q=0", 0.0, False, "gzip"),
        # RFC 9110 ends an element at its weight: a parameter after q makes the weight
        # malformed, hence absent.
        ("identity;q=0;foo=bar", 0.0, True, "gzip"),
    ],
)
def test_acceptance(header: str | None, gzip_quality: float, identity_acceptable: bool, label: str) -> None:
    reading = acceptance(header)
    assert reading.gzip_quality == gzip_quality
    assert reading.identity_acceptable is identity_acceptable
    assert reading.label == label
    assert reading.present is (header is not None)


def test_preference_follows_quality() -> None:
    assert acceptance("gzip;q=0.5, identity").prefers_gzip is False
    assert acceptance("gzip, identity;q=0.5").prefers_gzip is True
    assert acceptance("gzip, identity").prefers_gzip is True
    assert acceptance("*").prefers_gzip is True
    assert acceptance("gzip;q=0.2, *;q=0.5").prefers_gzip is False


def test_refuses_everything() -> None:
    assert acceptance("identity;q=0").refuses_everything
    assert acceptance("*;q=0").refuses_everything
    assert not acceptance("*;q=0, gzip").refuses_everything
    assert not acceptance("identity;q=0, *").refuses_everything
    assert not acceptance("br").refuses_everything


@pytest.mark.parametrize(
    "header",
    ["gzip;q=", "gzip;q", ";q=1", ";;,,;", "gzip;q=0.5.5", 'gzip;q="0"', "\x00gzip", "gzip;" * 200,
     "q=0", "gzip;q=\u00bd"],
)
def test_hostile_headers_never_raise(header: str) -> None:
    reading = acceptance(header)
    assert 0.0 <= reading.gzip_quality <= 1.0


@pytest.mark.parametrize(
    ("patterns", "media_type", "matches"),
    [
        (["text/html"], "text/html", True),
        (["TEXT/HTML"], "text/html", True),
        (["text/html"], "text/htmlx", False),
        (["text/*"], "text/anything", True),
        (["text/*"], "texts/plain", False),
        (["application/*+xml"], "application/atom+xml", True),
        (["application/*+xml"], "application/xml", False),
        (["application/*+xml"], "application/a+b+xml", True),
        (["application/*+xml"], "application/xml+json", False),
        (["application/*+xml"], "+xml", False),
        (["*/*"], "anything/at-all", True),
        ([], "text/html", False),
        (["text/html"], "", False),
        (["text/*"], "text", False),
    ],
)
def test_media_type_patterns(patterns: list[str], media_type: str, matches: bool) -> None:
    assert MediaTypes(patterns).matches(media_type) is matches


@pytest.mark.parametrize(
    "pattern",
    ["text", "text/", "/html", "*/html", "*/*+xml", "text/*html", "text/h*", "text/html; q=1",
     "text/*+", "text html/plain", ""],
)
def test_malformed_patterns_are_rejected(pattern: str) -> None:
    with pytest.raises(ValueError, match="not a media-type pattern"):
        MediaTypes([pattern])


def test_media_types_accepts_the_config_forms() -> None:
    compiled = media_types(["text/html", "text/*"])
    assert list(compiled) == ["text/html", "text/*"]
    assert media_types(compiled) is compiled
    assert media_types(("text/html", "text/*")) == compiled
    assert list(media_types("text/html")) == ["text/html"]
    assert media_types({"text/css"}).matches("text/css")
    with pytest.raises(ValueError, match="not a media type"):
        media_types([["text/html"]])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="expected a list"):
        media_types(None)  # type: ignore[arg-type]
