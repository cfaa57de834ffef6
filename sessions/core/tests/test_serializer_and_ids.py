"""The serializers (JSON by default, signed pickle by choice) and session ids."""

from __future__ import annotations

import datetime
import pickle
from typing import Any

import pytest

from drupe_sessions import JSONSerializer, PickleSerializer, generate_id, make_serializer, valid_id

EXPIRES = datetime.datetime(2030, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
EXECUTED: list[str] = []


class Exploit:
    def __reduce__(self) -> Any:
        return (EXECUTED.append, ("code ran",))


def test_ids() -> None:
    ids = {generate_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(valid_id(i) and len(i) == 40 for i in ids)
    for bad in [None, 42, b"0" * 40, "0" * 39, "0" * 41, "A" * 40, "../" + "0" * 37, "0" * 39 + "\n"]:
        assert not valid_id(bad)


def test_json_round_trip_of_tagged_types() -> None:
    data = {"t": (1, (2, 3)), "s": {1, 2}, "f": frozenset({"a"}), "b": b"\x00",
            "k": {1: "int key", (1, 2): "tuple key"}, "tag": {"__drupe_set__": [1]},
            "td": datetime.timedelta(days=1, seconds=2), "time": datetime.time(1, 2, 3)}
    serializer = JSONSerializer()
    loaded, expires = serializer.loads(serializer.dumps(data, EXPIRES))
    assert loaded == data
    assert expires == EXPIRES
    assert type(loaded["t"]) is tuple
    assert type(loaded["tag"]) is dict


def test_json_refuses_objects_with_a_clear_message() -> None:
    with pytest.raises(TypeError, match=r"serializer = 'pickle'"):
        JSONSerializer().dumps({"x": object()}, EXPIRES)


@pytest.mark.parametrize("blob", [
    b"", b"\xff\xfe", b"[]", b'{"v":1}', b'{"v":2,"expires":"2030-01-01T00:00:00+00:00","data":{}}',
    b'{"v":1,"expires":"2030-01-01T00:00:00","data":{}}',  # naive time
    b'{"v":1,"expires":"2030-01-01T00:00:00+00:00","data":[]}',
    b'{"v":1,"expires":"2030-01-01T00:00:00+00:00","data":{"x":{"__drupe_bytes__":"!!"}}}',
    b'{"v":1,"expires":"2030-01-01T00:00:00+00:00","data":{"x":{"__drupe_set__":[[1]]}}}',
    b'{"v":1,"expires":"2030-01-01T00:00:00+00:00","data":{"x":{"__drupe_nope__":1}}}',
    b"[" * 100000,
    pickle.dumps(({"a": 1}, EXPIRES)),
])
def test_json_loads_rejects_anything_else(blob: bytes) -> None:
    with pytest.raises(ValueError):
        JSONSerializer().loads(blob)


def test_signed_pickle_round_trip_and_refusals() -> None:
    serializer = PickleSerializer("a secret of 16 bytes or more")
    loaded, _expires = serializer.loads(serializer.dumps({"obj": {"any": object.__name__}}, EXPIRES))
    assert loaded == {"obj": {"any": "object"}}
    planted = pickle.dumps(({"x": Exploit()}, EXPIRES))
    for blob in [planted, b"drupe-pickle-1:" + b"\x00" * 32 + planted,
                 PickleSerializer("another secret of 16 bytes").dumps({"x": 1}, EXPIRES)]:
        with pytest.raises(ValueError, match=r"signed|signature"):
            serializer.loads(blob)
    assert EXECUTED == []


def test_make_serializer_checks_its_keys() -> None:
    assert isinstance(make_serializer(), JSONSerializer)
    with pytest.raises(ValueError, match="signing_key"):
        make_serializer("pickle")
    with pytest.raises(ValueError, match="signing_key"):
        make_serializer("pickle", "short")
    with pytest.raises(ValueError, match="serializer"):
        make_serializer("yaml")
    assert isinstance(make_serializer("pickle", b"k" * 16), PickleSerializer)
