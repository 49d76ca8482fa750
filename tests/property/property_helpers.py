"""Shared strategies and the one property of the hostile-input layer: a reader given any file either
returns a result or raises the project's own error naming the file, within a time and memory bound."""
from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from core.errors import SshvideoError

# ~30-60 examples per test keep the whole layer within about a minute on two busy cores.
SETTINGS = settings(max_examples=40, deadline=2000, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
MAX_SECONDS = 2.0
MAX_PYTHON_BYTES = 64 * 1024 * 1024

TOKENS = [b"inf", b"-inf", b"nan", b"1e999", b"-1", b"0", b"1e308", b"99999999999999999999999", b"9" * 5000,
          b"[", b"]", b"{", b"}", b'"', b"<", b">", b"/>", b"&", b"&lol;", b"\xff", b"\xfe\xff", b"\x00", b"\n",
          b",", b" ", b"=", b"[" * 3000, b"<!DOCTYPE a>", b'<!ENTITY x "y">', b'"a"', b"[1]", b"true", b"null",
          b"-0", b"1.5", b"..", b"/etc/passwd"]


@st.composite
def mutated(draw, seed: bytes, max_ops: int = 4) -> bytes:
    """``seed`` with a few byte flips, insertions of hostile tokens, deletions and duplications."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from(["flip", "token", "delete", "duplicate", "truncate"]))
        pos = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            data[min(pos, len(data) - 1)] = draw(st.integers(0, 255))
        elif op == "token":
            data[pos:pos] = draw(st.sampled_from(TOKENS))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 16))]
        elif op == "duplicate":
            data[pos:pos] = data[pos:pos + draw(st.integers(1, 64))]
        else:
            del data[pos:]
    return bytes(data)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


@st.composite
def json_mutated(draw, seed, max_ops: int = 3):
    """A deep copy of the JSON-like ``seed`` with a few nodes replaced by arbitrary JSON values."""
    value = json.loads(json.dumps(seed))
    for _ in range(draw(st.integers(1, max_ops))):
        paths = list(_paths(value))
        path = draw(st.sampled_from(paths))
        new = draw(JSON_VALUES)
        if not path:
            value = new
            continue
        parent = value
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = new
    return value


def reads_or_refuses(read, path: Path, *args, **kwargs):
    """``read(path, ...)``'s result, or None when it raised the project's own error naming ``path``;
    fails on any other exception, past ``MAX_SECONDS`` or past ``MAX_PYTHON_BYTES`` of Python memory."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = read(path, *args, **kwargs)
    except SshvideoError as exc:
        assert path.name in str(exc), f"the message does not name the file: {exc}"
        result = None
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < MAX_SECONDS, f"took {elapsed:.1f} s"
    assert peak < MAX_PYTHON_BYTES, f"peak Python memory {peak / 2**20:.0f} MiB"
    return result
