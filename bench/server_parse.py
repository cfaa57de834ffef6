"""drupe-server-cheroot's per-request serving cost without the network: A/B between versions.

Throughput over loopback (``run.py``) is the figure users see, but on a shared machine it
moves by tens of percent from one minute to the next. This script measures the part of
the server a change to request parsing touches — reading the head from the socket,
parsing and checking it, the WSGI gateway, composing and writing the response — in
process, on a UNIX socket pair, in microseconds per request, and alternates the versions
compared, so a busy minute hurts both.

    uv run python bench/server_parse.py                          # the workspace version
    uv run python bench/server_parse.py --baseline /tmp/old-src  # A/B against another copy

``--baseline`` names a directory holding another ``drupe_server_cheroot`` package (a
copy of ``plugins/cheroot/src`` from another commit, say). Each measurement runs in a
fresh subprocess that imports one version; ``--rounds`` alternations, the median is
reported per request shape:

* ``wrk``: what ``wrk`` sends (request line and ``Host``), as in ``run.py``;
* ``browser``: a typical browser GET with eleven header fields;
* ``post``: a form POST with a 30-byte ``Content-Length`` body the application reads.

Per request the server object does what a worker does for a request already buffered:
``request_class(server, conn)``, ``parse_request()``, ``respond()`` — cheroot's public
contract, identical in every version. Requests are pipelined in batches of 50 (the
responses of a batch fit the socket buffer) and the client side drains the responses
between batches, outside the timing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKSPACE_SRC = HERE.parent / "plugins" / "cheroot" / "src"

SHAPES = {
    "wrk": b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
    "browser": (
        b"GET /articles/2024/hello-world?ref=home&page=2 HTTP/1.1\r\n"
        b"Host: www.example.com\r\n"
        b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
        b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
        b"Accept-Language: en-US,en;q=0.5\r\n"
        b"Accept-Encoding: gzip, deflate, br, zstd\r\n"
        b"Referer: https://www.example.com/\r\n"
        b"Connection: keep-alive\r\n"
        b"Cookie: session_id=0123456789abcdef0123456789abcdef; theme=dark; lang=en\r\n"
        b"Upgrade-Insecure-Requests: 1\r\n"
        b"Sec-Fetch-Dest: document\r\n"
        b"Priority: u=0, i\r\n\r\n"
    ),
    "post": (
        b"POST /form HTTP/1.1\r\nHost: www.example.com\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 30\r\n\r\n"
        b"name=Ann+Example&city=Anywhere"
    ),
}
BATCH = 50


def _worker(shape: str, seconds: float) -> float:
    """Run in a subprocess: microseconds per request for the version on sys.path."""
    import socket
    import types

    from drupe_server_cheroot import CherootServer

    def app(environ: dict, start_response):  # type: ignore[no-untyped-def]
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        if length:
            stream.read(int(length))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])
        return [b"Hello world!"]

    settings = types.SimpleNamespace(socket_host="127.0.0.1", socket_port=0, thread_pool=1)
    server = CherootServer(settings, app)
    # Not serving: no thread, no listening socket; keep-alive allowed as when serving.
    server.ready = True
    client, served = socket.socketpair()
    served.settimeout(10)
    conn = server.ConnectionClass(server, served)
    request_class = server.request_class
    data = SHAPES[shape] * BATCH
    client.setblocking(False)

    def drain() -> None:
        while True:
            try:
                if not client.recv(1 << 20):
                    return
            except BlockingIOError:
                return

    def batch() -> float:
        client.sendall(data)
        started = time.perf_counter()
        for _ in range(BATCH):
            req = request_class(server, conn)
            req.parse_request()
            if not req.ready:
                raise SystemExit(f"request not parsed: {SHAPES[shape][:60]!r}")
            req.respond()
        elapsed = time.perf_counter() - started
        drain()
        return elapsed

    for _ in range(3):
        batch()
    total = 0.0
    count = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        total += batch()
        count += BATCH
    client.close()
    served.close()
    return total / count * 1e6


def _measure(src: Path, shape: str, seconds: float) -> float:
    env = dict(os.environ, PYTHONPATH=str(src) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", shape, "--seconds", str(seconds)],
        env=env, capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"worker failed for {src}:\n{completed.stderr}")
    return float(json.loads(completed.stdout)["us"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="directory holding another drupe_server_cheroot")
    parser.add_argument("--src", type=Path, default=WORKSPACE_SRC, help="the version measured")
    parser.add_argument("--rounds", type=int, default=7, help="alternations (median reported)")
    parser.add_argument("--seconds", type=float, default=1.0, help="timed seconds per measurement")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated: " + ", ".join(SHAPES))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps({"us": _worker(args.worker, args.seconds)}))
        return
    versions = {"current": args.src}
    if args.baseline:
        versions = {"baseline": args.baseline, "current": args.src}
    print(f"µs per request (median of {args.rounds} alternating rounds, {args.seconds:g} s each)")
    for shape in args.shapes.split(","):
        samples: dict[str, list[float]] = {name: [] for name in versions}
        for round_number in range(args.rounds):
            order = list(versions.items())
            if round_number % 2:
                order.reverse()
            for name, src in order:
                samples[name].append(_measure(src, shape, args.seconds))
        medians = {name: statistics.median(values) for name, values in samples.items()}
        line = f"{shape:8}" + "".join(f"  {name} {value:6.2f}" for name, value in medians.items())
        if "baseline" in medians:
            change = (medians["current"] / medians["baseline"] - 1) * 100
            line += f"  change {change:+.1f} %"
        print(line, flush=True)


if __name__ == "__main__":
    main()
