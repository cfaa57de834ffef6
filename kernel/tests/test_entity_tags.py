"""Entity tags and If-Match / If-None-Match lists (``drupe.lib.httputil``)."""

from __future__ import annotations

import pytest

from drupe.lib.httputil import EntityTag, parse_entity_tags


def test_strong_and_weak_tags() -> None:
    strong, weak = EntityTag.parse('"abc"'), EntityTag.parse('W/"abc"')
    assert (strong.opaque, strong.weak, weak.opaque, weak.weak) == ("abc", False, "abc", True)
    assert str(strong) == '"abc"' and str(weak) == 'W/"abc"'  # noqa: PT018
    assert strong.weak_match(weak) and not strong.strong_match(weak)  # noqa: PT018
    assert strong.strong_match(EntityTag.parse(' "abc" '))
    # Unquoted text, as some applications send it, is one strong tag.
    assert EntityTag.parse("abc").strong_match(EntityTag("abc"))


@pytest.mark.parametrize(("value", "star", "tags"), [
    ("*", True, []),
    (' "a", W/"b" ,"c,d"', False, ['"a"', 'W/"b"', '"c,d"']),
    ('"a", *', False, ['"a"']),  # a star inside a list is not in the grammar: ignored
    (" , ", False, []),
])
def test_tag_lists(value: str, star: bool, tags: list[str]) -> None:
    is_star, parsed = parse_entity_tags(value)
    assert is_star is star
    assert [str(tag) for tag in parsed] == tags
