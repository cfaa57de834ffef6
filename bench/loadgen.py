"""A fallback HTTP/1.1 load generator, for machines without ``wrk``.

``python bench/loadgen.py --host 127.0.0.1 --port P --target /greet?name=x -c 10 -d 10``

Closed loop like wrk: ``--connections`` keep-alive connections, each sending its next
request as soon as the previous response is complete, for ``--duration`` seconds, spread
over ``--procs`` processes (one selector loop each, raw sockets, no HTTP library).
Prints one JSON line in the shape of ``wrk_report.lua``'s. Responses must carry a
Content-Length (every benchmark case's does); a non-2xx/3xx status counts as an error.

It is slower than wrk: run.py reports its CPU use next to the server's, and a generator
near 100% of a core is the bottleneck, not the server.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import selectors
import socket
import sys
import time


def build_request(host: str, port: int, target: str, method: str = "GET",
                  headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> bytes:
    """The bytes of one HTTP/1.1 request (sent again and again on each connection)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: bench-loadgen",
             "Accept: */*", *(f"{name}: {value}" for name, value in headers or ())]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _worker(host: str, port: int, request: bytes, connections: int, duration: float,
            start_at: float, queue: multiprocessing.Queue) -> None:
    selector = selectors.DefaultSelector()
    state: dict[socket.socket, list] = {}
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    latencies: list[int] = []
    nbytes = 0

    def open_connection() -> None:
        try:
            sock = socket.create_connection((host, port))
        except OSError:
            errors["connect"] += 1
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        state[sock] = [bytearray(), 0]
        selector.register(sock, selectors.EVENT_READ)
        send(sock)

    def send(sock: socket.socket) -> None:
        state[sock][1] = time.perf_counter_ns()
        try:
            sock.sendall(request)
        except OSError:
            errors["write"] += 1
            drop(sock)

    def drop(sock: socket.socket) -> None:
        selector.unregister(sock)
        del state[sock]
        sock.close()

    while time.time() < start_at:
        time.sleep(0.001)
    deadline = time.perf_counter() + duration
    started = time.perf_counter()
    for _ in range(connections):
        open_connection()
    while time.perf_counter() < deadline:
        for key, _ in selector.select(timeout=0.05):
            sock = key.fileobj
            try:
                data = sock.recv(65536)
            except OSError:
                errors["read"] += 1
                drop(sock)
                open_connection()
                continue
            if not data:
                drop(sock)
                open_connection()
                continue
            buf = state[sock][0]
            buf += data
            nbytes += len(data)
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                head = bytes(buf[:end]).decode("latin-1")
                length = 0
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if len(buf) < end + 4 + length:
                    break
                del buf[:end + 4 + length]
                latencies.append((time.perf_counter_ns() - state[sock][1]) // 1000)
                status = int(head[9:12])
                if not 200 <= status < 400:
                    errors["status"] += 1
                send(sock)
                if sock not in state:
                    break
    elapsed = time.perf_counter() - started
    for sock in list(state):
        drop(sock)
    queue.put({"latencies": latencies, "errors": errors, "bytes": nbytes, "elapsed": elapsed})


def percentile(sorted_values: list[int], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(pct / 100 * (len(sorted_values) - 1)))
    return float(sorted_values[index])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--target", default="/")
    parser.add_argument("-c", "--connections", type=int, default=10)
    parser.add_argument("-d", "--duration", type=float, default=10.0)
    parser.add_argument("--procs", type=int, default=1)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--header", action="append", default=[], help="'Name: value' (repeatable)")
    parser.add_argument("--body-file", help="send this file's bytes as the request body")
    args = parser.parse_args()
    body = b""
    if args.body_file:
        with open(args.body_file, "rb") as f:
            body = f.read()
    headers = [tuple(part.strip() for part in h.split(":", 1)) for h in args.header]
    request = build_request(args.host, args.port, args.target, args.method, headers, body)  # type: ignore[arg-type]
    procs = max(1, min(args.procs, args.connections))
    queue: multiprocessing.Queue = multiprocessing.Queue()
    start_at = time.time() + 0.2
    workers = []
    for index in range(procs):
        share = args.connections // procs + (1 if index < args.connections % procs else 0)
        proc = multiprocessing.Process(target=_worker, args=(
            args.host, args.port, request, share, args.duration, start_at, queue))
        proc.start()
        workers.append(proc)
    results = [queue.get() for _ in workers]
    for proc in workers:
        proc.join()
    latencies = sorted(lat for result in results for lat in result["latencies"])
    errors = {key: sum(r["errors"][key] for r in results) for key in results[0]["errors"]}
    elapsed = max(r["elapsed"] for r in results)
    mean = sum(latencies) / len(latencies) if latencies else 0.0
    var = sum((x - mean) ** 2 for x in latencies) / len(latencies) if latencies else 0.0
    report = {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "bytes": sum(r["bytes"] for r in results),
        "errors": errors,
        "latency_us": {
            "mean": mean, "stdev": var ** 0.5, "max": float(latencies[-1]) if latencies else 0.0,
            "p50": percentile(latencies, 50), "p90": percentile(latencies, 90),
            "p99": percentile(latencies, 99), "p999": percentile(latencies, 99.9),
        },
    }
    sys.stdout.write("BENCH_JSON " + json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
