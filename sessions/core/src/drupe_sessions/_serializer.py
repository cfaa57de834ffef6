"""How session data becomes bytes in shared storage, and back, without running code.

CherryPy pickles session data: anyone who can write a session file or a memcached key
can make the server run code when the session is loaded. drupe's default serializer is
JSON, which can only ever produce data. Values may be JSON's own types (str, int, float,
bool, None, lists, dicts with str keys) plus a few common Python types that are tagged so
they come back as what they were:

=================  ===============================================
Python value       JSON form
=================  ===============================================
``tuple``          ``{"__drupe_tuple__": [...]}``
``set``            ``{"__drupe_set__": [...]}``
``frozenset``      ``{"__drupe_frozenset__": [...]}``
``bytes``          ``{"__drupe_bytes__": "<base64>"}``
``datetime``       ``{"__drupe_datetime__": "<ISO 8601>"}``
``date``           ``{"__drupe_date__": "<ISO 8601>"}``
``time``           ``{"__drupe_time__": "<ISO 8601>"}``
``timedelta``      ``{"__drupe_timedelta__": [days, seconds, microseconds]}``
``Decimal``        ``{"__drupe_decimal__": "<str>"}``
``UUID``           ``{"__drupe_uuid__": "<hex>"}``
dict, other keys   ``{"__drupe_dict__": [[key, value], ...]}``
=================  ===============================================

A dict whose keys are not all strings, or that has a single key starting with
``__drupe_``, is stored in the ``__drupe_dict__`` form, so no user data can be mistaken
for a tag. Anything else (an instance of an application class, a function) is refused
with a TypeError when the session is saved: store plain data, or opt in to pickle.

:class:`PickleSerializer` is for applications that need arbitrary objects: it signs every
blob with HMAC-SHA256 under a secret key and checks the signature (in constant time)
before unpickling, so data that the server did not write itself is never unpickled.

A serializer is any object with ``dumps(data, expiration_time) -> bytes`` and
``loads(blob) -> (data, expiration_time)``; ``loads`` raises ValueError for anything it
cannot trust or decode, and backends treat that as "no session" (logged).
"""

from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import hmac
import json
import pickle
import uuid
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

__all__ = ["JSONSerializer", "PickleSerializer", "Serializer", "make_serializer"]

_TAG = "__drupe_"
_FORMAT_VERSION = 1


@runtime_checkable
class Serializer(Protocol):
    """Turns ``(data, expiration_time)`` into bytes and back; ``loads`` raises ValueError."""

    def dumps(self, data: dict[str, Any], expiration_time: datetime.datetime) -> bytes: ...

    def loads(self, blob: bytes) -> tuple[dict[str, Any], datetime.datetime]: ...


def _aware(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        raise ValueError("session expiration times must be timezone-aware")
    return moment.astimezone(datetime.timezone.utc)


def _encode(value: Any) -> Any:
    # bool and int are JSON's own; check the exact common types first (PERF: most session
    # values are str/int, and type() identity is cheaper than isinstance chains).
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return value
    if kind is list:
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        if all(type(key) is str for key in value) and not (
                len(value) == 1 and next(iter(value)).startswith(_TAG)):
            return {key: _encode(item) for key, item in value.items()}
        return {_TAG + "dict__": [[_encode(key), _encode(item)] for key, item in value.items()]}
    if isinstance(value, tuple):
        return {_TAG + "tuple__": [_encode(item) for item in value]}
    if isinstance(value, frozenset):
        return {_TAG + "frozenset__": [_encode(item) for item in value]}
    if isinstance(value, set):
        return {_TAG + "set__": [_encode(item) for item in value]}
    if isinstance(value, (bytes, bytearray)):
        return {_TAG + "bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime.datetime):
        return {_TAG + "datetime__": value.isoformat()}
    if isinstance(value, datetime.date):
        return {_TAG + "date__": value.isoformat()}
    if isinstance(value, datetime.time):
        return {_TAG + "time__": value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {_TAG + "timedelta__": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, decimal.Decimal):
        return {_TAG + "decimal__": str(value)}
    if isinstance(value, uuid.UUID):
        return {_TAG + "uuid__": value.hex}
    if isinstance(value, (int, float, str, list)):  # subclasses of JSON types
        return _encode(_plain(value))
    raise TypeError(
        f"A session value of type {kind.__module__}.{kind.__qualname__} cannot be stored by "
        "the JSON session serializer (it stores str, int, float, bool, None, list, dict, "
        "tuple, set, frozenset, bytes, datetime, date, time, timedelta, Decimal and UUID). "
        "Store plain data, or set tools.sessions.serializer = 'pickle' with a "
        "tools.sessions.signing_key."
    )


def _plain(value: Any) -> Any:
    """A subclass of a JSON type (an IntEnum, a str subclass) as the base type."""
    base: type[Any]
    for base in (bool, int, float, str, list):
        if isinstance(value, base):
            return base(value)
    raise TypeError(type(value).__name__)  # pragma: no cover - callers checked the types


def _decode_tag(tag: str, payload: Any) -> Any:
    if tag == "dict":
        if not isinstance(payload, list):
            raise ValueError("bad dict payload")
        result: dict[Any, Any] = {}
        for pair in payload:
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValueError("bad dict item")
            key = _decode(pair[0])
            try:
                result[key] = _decode(pair[1])
            except TypeError as exc:  # an unhashable key
                raise ValueError(f"bad dict key: {exc}") from None
        return result
    if tag in ("tuple", "set", "frozenset"):
        if not isinstance(payload, list):
            raise ValueError(f"bad {tag} payload")
        items = [_decode(item) for item in payload]
        try:
            return tuple(items) if tag == "tuple" else set(items) if tag == "set" else frozenset(items)
        except TypeError as exc:
            raise ValueError(f"bad {tag} item: {exc}") from None
    if tag == "timedelta":
        if (not isinstance(payload, list) or len(payload) != 3
                or not all(type(part) is int for part in payload)):
            raise ValueError("bad timedelta payload")
        return datetime.timedelta(days=payload[0], seconds=payload[1], microseconds=payload[2])
    if not isinstance(payload, str):
        raise ValueError(f"bad {tag} payload")
    decoders: dict[str, Callable[[str], Any]] = {
        "bytes": lambda text: base64.b64decode(text.encode("ascii"), validate=True),
        "datetime": datetime.datetime.fromisoformat,
        "date": datetime.date.fromisoformat,
        "time": datetime.time.fromisoformat,
        "decimal": decimal.Decimal,
        "uuid": uuid.UUID,
    }
    decoder = decoders.get(tag)
    if decoder is None:
        raise ValueError(f"unknown tag {tag!r}")
    try:
        return decoder(payload)
    except (ValueError, TypeError, ArithmeticError, UnicodeError) as exc:
        raise ValueError(f"bad {tag} payload: {exc}") from None


def _decode(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return [_decode(item) for item in value]
    if kind is dict:
        if len(value) == 1:
            (key, payload), = value.items()
            if key.startswith(_TAG) and key.endswith("__") and len(key) > len(_TAG) + 2:
                return _decode_tag(key[len(_TAG):-2], payload)
        return {key: _decode(item) for key, item in value.items()}
    return value


class JSONSerializer:
    """The default: JSON with tagged Python types; loading it can never run code."""

    name = "json"

    def dumps(self, data: dict[str, Any], expiration_time: datetime.datetime) -> bytes:
        document = {
            "v": _FORMAT_VERSION,
            "expires": _aware(expiration_time).isoformat(),
            "data": _encode(dict(data)),
        }
        return json.dumps(document, separators=(",", ":"), allow_nan=True).encode("utf-8")

    def loads(self, blob: bytes) -> tuple[dict[str, Any], datetime.datetime]:
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise ValueError(f"session data must be bytes, not {type(blob).__name__}")
        try:
            document = json.loads(bytes(blob).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ValueError(f"session data is not valid JSON: {exc}") from None
        if (type(document) is not dict or document.get("v") != _FORMAT_VERSION
                or set(document) != {"v", "expires", "data"}):
            raise ValueError("session data is not a drupe JSON session document")
        expires = document["expires"]
        if not isinstance(expires, str):
            raise ValueError("session expiration time is not a string")
        try:
            expiration_time = _aware(datetime.datetime.fromisoformat(expires))
        except ValueError as exc:
            raise ValueError(f"bad session expiration time: {exc}") from None
        try:
            data = _decode(document["data"])
        except RecursionError:
            raise ValueError("session data is nested too deeply") from None
        if type(data) is not dict:
            raise ValueError("session data is not a mapping")
        return data, expiration_time

    def __repr__(self) -> str:
        return "JSONSerializer()"


class PickleSerializer:
    """Pickle, signed: HMAC-SHA256 over the pickle, checked before anything is unpickled.

    ``signing_key`` (str or bytes, at least 16 bytes) must be secret and the same in every
    process sharing the storage. A blob without a valid signature is refused with
    ValueError, so a planted file or memcached value is never unpickled.
    """

    name = "pickle"
    _MAGIC = b"drupe-pickle-1:"
    _DIGEST_SIZE = hashlib.sha256().digest_size

    def __init__(self, signing_key: str | bytes, protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
        key = signing_key.encode("utf-8") if isinstance(signing_key, str) else signing_key
        if not isinstance(key, bytes) or len(key) < 16:
            raise ValueError("the pickle serializer's signing_key must be a secret of at least "
                             "16 bytes (str or bytes)")
        self._key = key
        self.protocol = protocol

    def _signature(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def dumps(self, data: dict[str, Any], expiration_time: datetime.datetime) -> bytes:
        payload = pickle.dumps((dict(data), _aware(expiration_time)), protocol=self.protocol)
        return self._MAGIC + self._signature(payload) + payload

    def loads(self, blob: bytes) -> tuple[dict[str, Any], datetime.datetime]:
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise ValueError(f"session data must be bytes, not {type(blob).__name__}")
        blob = bytes(blob)
        if not blob.startswith(self._MAGIC):
            raise ValueError("session data is not a signed drupe pickle")
        signature = blob[len(self._MAGIC):len(self._MAGIC) + self._DIGEST_SIZE]
        payload = blob[len(self._MAGIC) + self._DIGEST_SIZE:]
        if not hmac.compare_digest(signature, self._signature(payload)):
            raise ValueError("session data has a bad signature (not written with this "
                             "signing_key): refused without unpickling")
        try:
            data, expiration_time = pickle.loads(payload)
        except Exception as exc:  # a signed but unloadable pickle (class gone, ...)
            raise ValueError(f"signed session data could not be unpickled: {exc!r}") from None
        if not isinstance(data, dict) or not isinstance(expiration_time, datetime.datetime):
            raise ValueError("signed session data has an unexpected shape")
        return data, _aware(expiration_time)

    def __repr__(self) -> str:
        return "PickleSerializer(signing_key=<secret>)"


def make_serializer(serializer: Any = "json", signing_key: str | bytes | None = None) -> Serializer:
    """The serializer named by ``tools.sessions.serializer`` (ValueError naming the key)."""
    if serializer is None or serializer == "json":
        return JSONSerializer()
    if serializer == "pickle":
        if signing_key is None:
            raise ValueError(
                "tools.sessions.serializer = 'pickle' needs tools.sessions.signing_key (a "
                "secret of at least 16 bytes shared by every process using the storage): "
                "unsigned pickles in shared storage let whoever can write it run code."
            )
        try:
            return PickleSerializer(signing_key)
        except ValueError as exc:
            raise ValueError(f"tools.sessions.signing_key: {exc}") from None
    if isinstance(serializer, str):
        raise ValueError(f"tools.sessions.serializer must be 'json', 'pickle' or a serializer "
                         f"object, not {serializer!r}")
    if not callable(getattr(serializer, "dumps", None)) or not callable(getattr(serializer, "loads", None)):
        raise ValueError(f"tools.sessions.serializer: {serializer!r} has no dumps()/loads()")
    return serializer  # type: ignore[no-any-return]
