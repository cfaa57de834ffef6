"""drupe's benchmark: drupe against raw cheroot, CherryPy and Falcon, in one run, as ratios.

    uv run python bench/run.py [--duration 3] [--connections 10] [--runs 3]
                               [--cases hello,greet,...] [--targets raw,drupe,...] [--readme]

Three measurements, each alternating the targets (the order rotates from one repetition
to the next):

* start-up: each framework's import time in a fresh interpreter, and each target's time
  from process start to its first successful answer (median of ``--startup-reps``);
* in-process: each target's WSGI app called in a loop with a prebuilt environ (a fresh
  copy and a fresh ``wsgi.input`` per call), the body consumed and closed; µs per call,
  the median of ``--inproc-reps`` repetitions;
* over loopback: each target served by cheroot in its own process; a load generator
  (``wrk``, or ``loadgen.py`` without it) in another process keeps ``--connections``
  keep-alive connections busy for ``--duration`` seconds; req/s, p50/p99 latency and the
  server's CPU time per request (from /proc/<pid>/stat), the median of ``--runs`` runs;
  each server's resident memory after its checks and at its peak (VmHWM).

drupe runs from the workspace environment; CherryPy and Falcon from a throwaway
environment that this script creates under bench/.envs/ with uv (the workspace venv and
uv.lock are never touched). Raw JSON goes to bench/results/; ``--readme`` also rewrites
the results section of bench/README.md. This is a benchmark, not a test: it asserts
nothing about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from cases import CASES, DEFAULT_CASES, session_cookie, write_static_dir  # noqa: E402

ENVS = HERE / ".envs"
RESULTS = HERE / "results"
README = HERE / "README.md"
WORKER = HERE / "worker.py"
STATIC_DIR = ENVS / "static"
SCRIPTS = ENVS / "scripts"
CHERRYPY_VERSION = "18.10.0"
FALCON_VERSION = "4.0.2"
VERSION_KEYS = ("python", "cheroot", "drupe", "cherrypy", "falcon", "prefix", "drupe_distributions")

README_BEGIN = "<!-- results:begin (written by bench/run.py --readme) -->"
README_END = "<!-- results:end -->"

# The performance targets (reported, never asserted).
GOALS = {
    "hello_vs_raw_rps": 0.95,  # hello world req/s >= 0.95 x raw cheroot's
    "dynamic_vs_cherrypy_rps": 2.0,  # every dynamic case >= 2 x CherryPy's req/s
    "static1m_vs_cherrypy_rps": 1.0,  # a 1 MiB static file at least as fast as CherryPy
    "hello_framework_cpu_us": 40.0,  # server CPU per request over raw cheroot's, hello world
    "import_ms": 50.0,  # `import drupe`
    "first_response_ms": 300.0,  # process start to the first successful response
}

# Server settings shared by every target (CherryPy's defaults for server.*).
SERVER_SETTINGS = {
    "host": "127.0.0.1",
    "thread_pool": 10,
    "socket_queue_size": 5,
    "socket_timeout": 10,
    "shutdown_timeout": 5,
    "max_request_header_size": 500 * 1024,
    "max_request_body_size": 100 * 1024 * 1024,
}


# ---------------------------------------------------------------------------------------
# Targets


@dataclass
class Target:
    """Something to measure: an app (raw/drupe/cherrypy) behind a server, in an env."""

    name: str
    app: str  # worker.py --target
    server: str  # "wsgi": bare cheroot.wsgi.Server; "engine": the framework's engine.start()
    env: str  # "workspace" or "peers" (the throwaway environment with CherryPy and Falcon)
    label: str
    python: str = ""
    versions: dict[str, object] = field(default_factory=dict)

    @property
    def inproc(self) -> bool:
        # In-process figures are per app; the engine variants share their app's.
        return self.server == "wsgi"


def all_targets() -> dict[str, Target]:
    return {
        t.name: t
        for t in (
            Target("raw", "raw", "wsgi", "workspace", "raw cheroot (bare WSGI function)"),
            Target("drupe", "drupe", "wsgi", "workspace", "drupe.tree on cheroot.wsgi.Server"),
            Target("cherrypy", "cherrypy", "wsgi", "peers",
                   f"CherryPy {CHERRYPY_VERSION} cherrypy.tree on cheroot.wsgi.Server"),
            Target("falcon", "falcon", "wsgi", "peers",
                   f"Falcon {FALCON_VERSION} falcon.App on cheroot.wsgi.Server"),
            Target("drupe-engine", "drupe", "engine", "workspace",
                   "drupe via drupe.engine.start() (its cheroot plugin)"),
            Target("cherrypy-engine", "cherrypy", "engine", "peers",
                   f"CherryPy {CHERRYPY_VERSION} via cherrypy.engine.start()"),
        )
    }


def drupe_server_plugin_landed() -> bool:
    """True when ``cheroot`` in the ``drupe.servers`` entry-point group loads."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="drupe.servers"):
        if ep.name == "cheroot":
            try:
                ep.load()
            except Exception as exc:
                log(f"drupe.servers:cheroot is registered but does not load yet ({exc!r})")
                return False
            return True
    return False


# ---------------------------------------------------------------------------------------
# Environments


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def clean_env() -> dict[str, str]:
    """The environment of every worker: no virtualenv or path overrides from the caller.

    PYTHONDONTWRITEBYTECODE is dropped too: an installed application runs from cached
    bytecode, and compiling every module from source at each start would dominate the
    import and start-up figures (the first, unrecorded start writes the caches).
    """
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT",
                        "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def peers_python(cheroot_version: str) -> str:
    """The throwaway environment's interpreter (CherryPy and Falcon), created on first use.

    Same interpreter version as the workspace and the same cheroot version, so the only
    difference between the environments is the framework.
    """
    spec = {"cherrypy": CHERRYPY_VERSION, "falcon": FALCON_VERSION, "cheroot": cheroot_version,
            "python": platform.python_version()}
    env_dir = ENVS / "peers"
    python = env_dir / "bin" / "python"
    marker = env_dir / "bench-spec.json"
    if python.exists() and marker.exists() and json.loads(marker.read_text()) == spec:
        return str(python)
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        sys.exit("uv is needed to create the peers' environment (run this with `uv run`).")
    log(f"creating {env_dir.relative_to(ROOT)} (CherryPy {CHERRYPY_VERSION}, Falcon {FALCON_VERSION}, "
        f"cheroot {cheroot_version})")
    ENVS.mkdir(exist_ok=True)
    # --no-config: ignore the workspace's uv settings; `uv pip --python` installs into that
    # interpreter's environment only (no project, no lock file involved).
    env = clean_env()
    subprocess.run([uv, "venv", "--no-config", "--quiet", "--clear", "--python", sys.executable,
                    str(env_dir)], check=True, cwd=ENVS, env=env)
    subprocess.run([uv, "pip", "install", "--no-config", "--quiet", "--python", str(python),
                    f"cherrypy=={CHERRYPY_VERSION}", f"falcon=={FALCON_VERSION}",
                    f"cheroot=={cheroot_version}"],
                   check=True, cwd=ENVS, env=env)
    marker.write_text(json.dumps(spec))
    return str(python)


def check_app_sources() -> None:
    """drupe_app.py and cherrypy_app.py must be the same code but for the import line."""
    def code(name: str, import_line: str) -> list[str]:
        text = (HERE / "apps" / name).read_text()
        body = text.split('"""', 2)[2]  # drop the module docstring
        # Blank lines aside: the linter groups `import drupe` (first party) apart.
        return [line for line in body.splitlines() if line not in (import_line, "")]

    if code("drupe_app.py", "import drupe as cherrypy") != code("cherrypy_app.py", "import cherrypy"):
        sys.exit("bench/apps/drupe_app.py and cherrypy_app.py differ beyond the import line.")


# ---------------------------------------------------------------------------------------
# Processes


def pinned(cpu: int | None):
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def worker_command(target: Target, mode: str, cases: list[str], port: int = 0) -> list[str]:
    settings = dict(SERVER_SETTINGS, port=port, cases=cases, static_dir=str(STATIC_DIR))
    return [target.python, str(WORKER), mode, "--target", target.app, "--server", target.server,
            "--settings", json.dumps(settings)]


def read_json_line(stream) -> dict | None:
    """The next line that is a JSON object (a framework may print other things first)."""
    for line in stream:
        if line.startswith("{"):
            try:
                return json.loads(line)  # type: ignore[no-any-return]
            except ValueError:
                pass
        print(line, end="", file=sys.stderr)
    return None


class InprocWorker:
    def __init__(self, target: Target, cpu: int | None, cases: list[str]) -> None:
        self.target = target
        self.proc = subprocess.Popen(worker_command(target, "inproc", cases), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=clean_env(),
                                     preexec_fn=pinned(cpu))

    def ask(self, **command: object) -> dict:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        answer = read_json_line(self.proc.stdout)
        if answer is None:
            sys.exit(f"{self.target.name}: in-process worker died (exit {self.proc.wait()})")
        return answer

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(30)


class ServerProcess:
    def __init__(self, target: Target, cpu: int | None, cases: list[str]) -> None:
        self.target = target
        self.cookies: dict[str, str] = {}
        self.proc = subprocess.Popen(worker_command(target, "serve", cases), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=clean_env(),
                                     preexec_fn=pinned(cpu))
        assert self.proc.stdout
        info = read_json_line(self.proc.stdout)
        if info is None:
            sys.exit(f"{target.name}: server did not start (exit {self.proc.wait()})")
        self.info = info
        self.port: int = self.info["port"]

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process, all threads, so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # After the ")" closing comm: fields[0] is state (field 3); utime/stime are 14/15.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_kib(self) -> dict[str, int]:
        """The server's resident set now (VmRSS) and its peak so far (VmHWM), in KiB."""
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line[:5]] = int(line.split()[1])
        return {"rss_kib": out["VmRSS"], "peak_rss_kib": out["VmHWM"]}

    def check(self, case) -> str | None:
        """None when the server answers ``case`` rightly over HTTP, else what is wrong.

        A session case is asked twice: the second request, with the cookie the first one
        got, must count one more; that cookie is then sent by every load-run request.
        """
        status, body, headers = http_request(self.port, case)
        problem = case.check(status, body, {name.lower() for name, _ in headers})
        if problem or not case.session:
            return problem
        cookie = session_cookie([v for n, v in headers if n.lower() == "set-cookie"])
        if cookie is None:
            return f"no session_id cookie in {headers}"
        status, body2, headers = http_request(self.port, case, cookie)
        problem = case.check(status, body2, {name.lower() for name, _ in headers})
        if problem is None and int(body2) != int(body) + 1:
            return f"the session counter went from {body!r} to {body2!r} with the cookie {cookie!r}"
        self.cookies[case.name] = cookie
        return problem

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def http_request(port: int, case, cookie: str | None = None,
                 timeout: float = 10) -> tuple[int, bytes, list[tuple[str, str]]]:
    """One request of ``case`` to 127.0.0.1:port: status, body, header list."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = dict(case.headers)
        if cookie:
            headers["Cookie"] = cookie
        conn.request(case.method, case.target, body=case.body or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), response.getheaders()
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------
# Load generation


def lua_string(data: bytes) -> str:
    """A Lua string literal for ``data`` (every byte but letters and digits escaped)."""
    return '"' + "".join(chr(b) if b < 128 and chr(b).isalnum() else f"\\{b:03d}" for b in data) + '"'


def wrk_script(case, cookie: str | None) -> Path:
    """The wrk script for one case: its method, headers and body, then the JSON reporter."""
    lines = [f"wrk.method = {lua_string(case.method.encode())}"]
    if case.body:
        lines.append(f"wrk.body = {lua_string(case.body)}")
    for name, value in [*case.headers, *([("Cookie", cookie)] if cookie else [])]:
        lines.append(f"wrk.headers[{lua_string(name.encode())}] = {lua_string(value.encode())}")
    SCRIPTS.mkdir(parents=True, exist_ok=True)
    path = SCRIPTS / f"{case.name}.lua"
    path.write_text("\n".join(lines) + "\n" + (HERE / "wrk_report.lua").read_text())
    return path


def run_loadgen(kind: str, port: int, case, connections: int, duration: float,
                cpu: int | None, wrk_threads: int, procs: int, cookie: str | None = None) -> dict:
    """One load run against 127.0.0.1:port; the generator's report plus its CPU time."""
    headers = [*case.headers, *([("Cookie", cookie)] if cookie else [])]
    if kind == "wrk":
        cmd = ["wrk", f"-t{wrk_threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
               "-s", str(wrk_script(case, cookie)), f"http://127.0.0.1:{port}{case.target}"]
    else:
        cmd = [sys.executable, str(HERE / "loadgen.py"), "--port", str(port), "--target", case.target,
               "-c", str(connections), "-d", str(duration), "--procs", str(procs),
               "--method", case.method]
        for name, value in headers:
            cmd += ["--header", f"{name}: {value}"]
        if case.body:
            body_file = SCRIPTS / f"{case.name}.body"
            SCRIPTS.mkdir(parents=True, exist_ok=True)
            body_file.write_bytes(case.body)
            cmd += ["--body-file", str(body_file)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=pinned(cpu))
    assert proc.stdout
    output = proc.stdout.read()
    # wait4 gives the generator's own CPU use (children included) without a second look.
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    match = re.search(r"^BENCH_JSON (\{.*\})$", output, re.M)
    if proc.returncode != 0 or not match:
        sys.exit(f"load generator failed (exit {proc.returncode}):\n{output}")
    report = json.loads(match.group(1))
    report["loadgen_cpu_s"] = usage.ru_utime + usage.ru_stime
    return report


def wrk_version() -> str | None:
    if not shutil.which("wrk"):
        return None
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return (out.stdout + out.stderr).splitlines()[0].split(" Copyright")[0].strip()


def ensure_wrk() -> bool:
    """wrk on PATH, installing Debian's package when missing and we are root."""
    if shutil.which("wrk"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk is missing: apt-get install wrk")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        ok = subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env,
                            stdout=subprocess.DEVNULL).returncode == 0
        if not ok:
            subprocess.run(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env,
                           stdout=subprocess.DEVNULL)
    return shutil.which("wrk") is not None


# ---------------------------------------------------------------------------------------
# Measurements


def machine_busy_seconds() -> tuple[float, float]:
    """CPU seconds all CPUs spent busy, and stolen by the hypervisor, since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice
    busy = values[0] + values[1] + values[2] + values[5] + values[6]
    return busy / os.sysconf("SC_CLK_TCK"), values[7] / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(args) -> float:
    """Wait (at most --quiet-wait seconds) until the rest of the machine is idle.

    This machine is shared with other sessions whose test suites come in bursts; a load
    run during one measures them as much as the target. Waiting draws on the run's
    --patience; once it is spent, measurements go ahead at once. Returns the seconds waited.
    """
    waited = 0.0
    while waited < args.quiet_wait and args.patience_left > 0:
        before, _ = machine_busy_seconds()
        time.sleep(0.25)
        waited += 0.25
        if 100 * (machine_busy_seconds()[0] - before) / 0.25 <= args.busy_threshold:
            break
        args.patience_left -= 0.25
    return waited


def may_redo(args, attempt: int, foreign_cpu_pct: float, seconds: float) -> bool:
    """True when a measurement disturbed by other processes should be done again.

    Redoing draws ``seconds`` on the run's --patience, so a busy machine lengthens a run
    by at most that much; the kept measurements still report how busy the machine was.
    """
    if foreign_cpu_pct <= args.busy_threshold or attempt >= args.retries or args.patience_left <= 0:
        return False
    args.patience_left -= seconds
    return True


def rotate(items: list, by: int) -> list:
    by %= len(items) or 1
    return items[by:] + items[:by]


def measure_inproc(targets: list[Target], cases: list[str], args) -> dict:
    workers = {t.name: InprocWorker(t, args.server_cpu, cases) for t in targets}
    try:
        for name, worker in workers.items():
            worker.target.versions = {k: v for k, v in worker.ask(cmd="info").items()
                                      if k in VERSION_KEYS}
            problems = worker.ask(cmd="check")["problems"]
            if problems:
                sys.exit(f"{name}: wrong responses in-process: {problems}")
        results: dict = {}
        for case in cases:
            iterations = {n: w.ask(cmd="calibrate", case=case, seconds=args.inproc_seconds)["iterations"]
                          for n, w in workers.items()}
            samples: dict[str, list] = {n: [] for n in workers}
            redone = 0
            for rep in range(args.inproc_reps):
                for name in rotate(list(workers), rep):
                    for attempt in range(args.retries + 1):
                        wait_for_quiet(args)
                        busy_before, _ = machine_busy_seconds()
                        started = time.perf_counter()
                        sample = workers[name].ask(cmd="time", case=case, iterations=iterations[name])
                        wall = time.perf_counter() - started
                        busy = machine_busy_seconds()[0] - busy_before
                        own = sample["cpu_ns_per_call"] * sample["iterations"] / 1e9
                        sample["foreign_cpu_pct"] = 100 * max(0.0, busy - own) / wall
                        if not may_redo(args, attempt, sample["foreign_cpu_pct"], wall):
                            break
                        redone += 1
                    samples[name].append(sample)
            results[case] = {
                name: {
                    "us_per_call": statistics.median(s["ns_per_call"] for s in runs) / 1000,
                    "cpu_us_per_call": statistics.median(s["cpu_ns_per_call"] for s in runs) / 1000,
                    "iterations": iterations[name],
                    "reps_us": [round(s["ns_per_call"] / 1000, 3) for s in runs],
                    "reps_foreign_cpu_pct": [round(s["foreign_cpu_pct"], 1) for s in runs],
                }
                for name, runs in samples.items()
            }
            line = ", ".join(f"{n} {r['us_per_call']:.2f} µs" for n, r in results[case].items())
            log(f"in-process {case}: {line}" + (f" ({redone} repetitions redone: busy machine)"
                                                 if redone else ""))
        return results
    finally:
        for worker in workers.values():
            worker.close()


def measure_socket(targets: list[Target], cases: list[str], args, loadgen: str) -> tuple[dict, dict]:
    """Load runs: per case and target, the medians (and every run); and each server's memory."""
    servers: dict[str, ServerProcess] = {}
    try:
        memory: dict[str, dict[str, int]] = {}
        for target in targets:
            servers[target.name] = ServerProcess(target, args.server_cpu, cases)
            target.versions = {k: v for k, v in servers[target.name].info.items()
                               if k in VERSION_KEYS}
            log(f"{target.name}: serving on port {servers[target.name].port} "
                f"(pid {servers[target.name].proc.pid})")
        for case in cases:
            for name, server in servers.items():
                problem = server.check(CASES[case])
                if problem:
                    sys.exit(f"{name}: wrong response over HTTP for {case!r}: {problem}")
        for name, server in servers.items():
            memory[name] = {"after_checks_rss_kib": server.memory_kib()["rss_kib"]}
        if args.warmup > 0:
            for case in cases:
                for server in servers.values():
                    run_loadgen(loadgen, server.port, CASES[case], args.connections, args.warmup,
                                args.loadgen_cpu, args.wrk_threads, args.loadgen_procs,
                                server.cookies.get(case))
            log(f"warmed up ({args.warmup:g} s per target and case)")
        runs: dict = {case: {name: [] for name in servers} for case in cases}
        discarded: dict = {case: {name: [] for name in servers} for case in cases}
        for run in range(args.runs):
            for case in cases:
                for name in rotate(list(servers), run):
                    for attempt in range(args.retries + 1):
                        wait_for_quiet(args)
                        sample = load_run(servers[name], case, args, loadgen)
                        if not may_redo(args, attempt, sample["foreign_cpu_pct"], sample["seconds"]):
                            break
                        discarded[case][name].append(sample)
                        log(f"run {run + 1}/{args.runs} {case:<6} {name:<16} discarded: other processes "
                            f"used {sample['foreign_cpu_pct']:.0f}% of a CPU meanwhile; again")
                    runs[case][name].append(sample)
                    errors = sum(sample["errors"].values())
                    log(f"run {run + 1}/{args.runs} {case:<6} {name:<16} {sample['rps']:9.0f} req/s  "
                        f"p50 {sample['p50_us']:7.0f} µs  p99 {sample['p99_us']:7.0f} µs  "
                        f"server CPU {sample['server_cpu_pct']:3.0f}% "
                        f"({sample['server_cpu_us_per_req']:.0f} µs/req)  "
                        f"loadgen CPU {sample['loadgen_cpu_pct']:3.0f}%  "
                        f"others {sample['foreign_cpu_pct']:3.0f}%"
                        + (f"  ERRORS {sample['errors']}" if errors else ""))
        for name, server in servers.items():
            memory[name].update(server.memory_kib())
        result = {case: {name: summarize(samples, discarded[case][name]) for name, samples in per.items()}
                  for case, per in runs.items()}
        return result, memory
    finally:
        for server in servers.values():
            server.close()


def load_run(server: ServerProcess, case: str, args, loadgen: str) -> dict:
    """One recorded load run, with the CPU time of the server, the generator and the rest."""
    cpu_before = server.cpu_seconds()
    busy_before, steal_before = machine_busy_seconds()
    report = run_loadgen(loadgen, server.port, CASES[case], args.connections, args.duration,
                         args.loadgen_cpu, args.wrk_threads, args.loadgen_procs,
                         server.cookies.get(case))
    busy_after, steal_after = machine_busy_seconds()
    server_cpu = server.cpu_seconds() - cpu_before
    seconds = report["duration_us"] / 1e6
    requests = report["requests"]
    if not requests:
        sys.exit(f"{server.target.name} {case}: the load generator completed no request in "
                 f"{seconds:.1f} s (errors: {report['errors']}); try a longer --duration")
    foreign = max(0.0, busy_after - busy_before - server_cpu - report["loadgen_cpu_s"])
    errors = dict(report["errors"])
    if CASES[case].status >= 400:
        # The load generators count non-2xx/3xx answers as errors; here they are the point.
        errors["status"] = 0
    return {
        "rps": requests / seconds,
        "requests": requests,
        "seconds": seconds,
        "p50_us": report["latency_us"]["p50"],
        "p99_us": report["latency_us"]["p99"],
        "latency_us": report["latency_us"],
        "errors": errors,
        "server_cpu_s": server_cpu,
        "server_cpu_us_per_req": server_cpu / requests * 1e6 if requests else None,
        "server_cpu_pct": 100 * server_cpu / seconds,
        "loadgen_cpu_pct": 100 * report["loadgen_cpu_s"] / seconds,
        # CPU used meanwhile by everything else on the machine, in % of one CPU (this
        # machine is shared: other sessions' test suites show up here), and steal time.
        "foreign_cpu_pct": 100 * foreign / seconds,
        "steal_pct": 100 * (steal_after - steal_before) / seconds,
    }


def summarize(samples: list[dict], discarded: list[dict]) -> dict:
    def med(key: str) -> float | None:
        values = [s[key] for s in samples if s[key] is not None]
        return statistics.median(values) if values else None

    return {
        "rps": med("rps"),
        "p50_us": med("p50_us"),
        "p99_us": med("p99_us"),
        "server_cpu_us_per_req": med("server_cpu_us_per_req"),
        "server_cpu_pct": med("server_cpu_pct"),
        "loadgen_cpu_pct": med("loadgen_cpu_pct"),
        "foreign_cpu_pct": med("foreign_cpu_pct"),
        "errors": sum(sum(s["errors"].values()) for s in samples),
        "runs": samples,
        "discarded_runs": discarded,
    }


# ---------------------------------------------------------------------------------------
# Start-up: import time, and process start to the first successful response

# What each app's process imports to serve (raw: cheroot's WSGI server alone).
IMPORTS = {"raw": "cheroot.wsgi", "drupe": "drupe", "cherrypy": "cherrypy", "falcon": "falcon"}


def import_seconds(python: str, module: str, cpu: int | None) -> float:
    """Seconds ``import module`` takes in a fresh interpreter (after the interpreter started)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=clean_env(),
                         preexec_fn=pinned(cpu), check=True)
    return float(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def first_response_seconds(target: Target, cases: list[str], cpu: int | None) -> float:
    """Seconds from starting a server process to its first successful hello-world answer.

    The process is the one the load runs use (the app configured with every measured
    case's plugin, then served); it is polled every 2 ms with a fresh connection.
    """
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(worker_command(target, "serve", cases, port), stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, env=clean_env(), preexec_fn=pinned(cpu))
    try:
        while True:
            try:
                status, _, _ = http_request(port, CASES["hello"], timeout=5)
                if status == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            if proc.poll() is not None:
                sys.exit(f"{target.name}: the server exited ({proc.returncode}) before answering")
            if time.perf_counter() - started > 60:
                sys.exit(f"{target.name}: no answer within 60 s of starting")
            time.sleep(0.002)
    finally:
        assert proc.stdin
        proc.stdin.close()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure_startup(targets: list[Target], cases: list[str], args) -> dict:
    """Per target: median import time of its framework, and median start-to-first-response."""
    apps = {t.app: t.python for t in targets}
    imports: dict[str, list[float]] = {app: [] for app in apps}
    firsts: dict[str, list[float]] = {t.name: [] for t in targets}
    for target in targets:  # unrecorded: writes the bytecode caches, warms the OS file cache
        first_response_seconds(target, cases, args.server_cpu)
    for rep in range(args.startup_reps):
        for app in rotate(list(apps), rep):
            wait_for_quiet(args)
            imports[app].append(import_seconds(apps[app], IMPORTS[app], args.server_cpu))
        for target in rotate(targets, rep):
            wait_for_quiet(args)
            firsts[target.name].append(first_response_seconds(target, cases, args.server_cpu))
    out = {}
    for target in targets:
        out[target.name] = {
            "import_module": IMPORTS[target.app],
            "import_ms": 1000 * statistics.median(imports[target.app]),
            "first_response_ms": 1000 * statistics.median(firsts[target.name]),
            "import_reps_ms": [round(1000 * s, 1) for s in imports[target.app]],
            "first_response_reps_ms": [round(1000 * s, 1) for s in firsts[target.name]],
        }
    log("start-up: " + ", ".join(f"{n} import {v['import_ms']:.0f} ms, first response "
                                 f"{v['first_response_ms']:.0f} ms" for n, v in out.items()))
    return out


# ---------------------------------------------------------------------------------------
# Ratios and goals

# (drupe target, peer): the comparisons reported. drupe.tree on cheroot.wsgi.Server is
# compared with every peer on that same server; drupe as run (engine.start() with its own
# server plugin) with raw cheroot and with CherryPy as run.
PAIRS = (("drupe", "raw"), ("drupe", "cherrypy"), ("drupe", "falcon"),
         ("drupe-engine", "raw"), ("drupe-engine", "cherrypy-engine"),
         # The ceiling: what a framework that cost nothing would get over CherryPy.
         ("raw", "cherrypy"))
PEER_NAMES = {"raw": "raw cheroot", "cherrypy": "CherryPy", "falcon": "Falcon",
              "cherrypy-engine": "CherryPy engine", "drupe": "drupe", "drupe-engine": "drupe engine"}
DYNAMIC_PEERS = {"drupe": "cherrypy", "drupe-engine": "cherrypy-engine"}


def ratios(inproc: dict, socket: dict) -> dict:
    """Per case: ``"a/b rps"`` (req/s of a over b), ``"b/a cpu"`` (b's server CPU per request
    over a's: how many more requests a serves per CPU-second), ``"a-b cpu_us"`` (a's extra
    server CPU per request, µs), ``"a/b rps_paired"`` (median of run i of a over run i of b),
    and in-process ``"b/a us"``."""
    def div(x: float | None, y: float | None) -> float | None:
        return x / y if x is not None and y else None

    out: dict = {}
    for case in [c for c in socket if not c.startswith("_")] or list(inproc):
        s = socket.get(case, {})
        i = inproc.get(case, {})
        entry: dict[str, float | None] = {}
        for a, b in PAIRS:
            if a not in s or b not in s:
                continue
            entry[f"{a}/{b} rps"] = div(s[a]["rps"], s[b]["rps"])
            entry[f"{b}/{a} cpu"] = div(s[b]["server_cpu_us_per_req"], s[a]["server_cpu_us_per_req"])
            if s[a]["server_cpu_us_per_req"] is not None and s[b]["server_cpu_us_per_req"] is not None:
                entry[f"{a}-{b} cpu_us"] = s[a]["server_cpu_us_per_req"] - s[b]["server_cpu_us_per_req"]
            pairs = [x["rps"] / y["rps"] for x, y in zip(s[a]["runs"], s[b]["runs"], strict=True) if y["rps"]]
            entry[f"{a}/{b} rps_paired"] = statistics.median(pairs) if pairs else None
        for b in ("raw", "cherrypy", "falcon"):
            if "drupe" in i and b in i:
                entry[f"{b}/drupe us"] = div(i[b]["us_per_call"], i["drupe"]["us_per_call"])
        out[case] = {k: v for k, v in entry.items() if v is not None}
    return out


def evaluate_goals(r: dict, startup: dict) -> list[dict]:
    """Each target of the brief, per drupe target: the figure and whether it is met."""
    goals: list[dict] = []

    def add(goal: str, drupe_target: str, value: float | None, ok: bool | None, unit: str = "×") -> None:
        if value is not None:
            goals.append({"goal": goal, "target": drupe_target, "value": value, "met": ok, "unit": unit})

    for d in ("drupe", "drupe-engine"):
        hello = r.get("hello", {})
        v = hello.get(f"{d}/raw rps")
        add(f"hello world ≥ {GOALS['hello_vs_raw_rps']}× raw cheroot req/s", d, v,
            v is not None and v >= GOALS["hello_vs_raw_rps"])
        v = hello.get(f"{d}-raw cpu_us")
        add(f"hello world server CPU per request over raw cheroot's ≤ {GOALS['hello_framework_cpu_us']:g} µs",
            d, v, v is not None and v <= GOALS["hello_framework_cpu_us"], " µs")
        # Like with like: drupe.tree against cherrypy.tree on the same server, drupe as run
        # against CherryPy as run (the goal text names CherryPy for both).
        peer = DYNAMIC_PEERS[d]
        for case, values in r.items():
            v = values.get(f"{d}/{peer} rps")
            if CASES[case].static:
                if case == "static1m":
                    add(f"{case} ≥ {GOALS['static1m_vs_cherrypy_rps']:g}× CherryPy req/s", d, v,
                        v is not None and v >= GOALS["static1m_vs_cherrypy_rps"])
            else:
                add(f"{case} ≥ {GOALS['dynamic_vs_cherrypy_rps']:g}× CherryPy req/s", d, v,
                    v is not None and v >= GOALS["dynamic_vs_cherrypy_rps"])
        if d in startup:
            v = startup[d]["first_response_ms"]
            add(f"process start to first response ≤ {GOALS['first_response_ms']:g} ms", d, v,
                v <= GOALS["first_response_ms"], " ms")
    if "drupe" in startup:
        v = startup["drupe"]["import_ms"]
        add(f"`import drupe` ≤ {GOALS['import_ms']:g} ms", "drupe", v, v <= GOALS["import_ms"], " ms")
    return goals


# ---------------------------------------------------------------------------------------
# Reporting


def machine() -> dict:
    cpu = "unknown"
    virtual = False
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and cpu == "unknown":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and " hypervisor" in line:
                virtual = True
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem_kib = int(line.split()[1])
    distro = ""
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    return {
        "cpu": cpu, "cores": os.cpu_count(), "virtualized": virtual,
        "memory_gib": round(mem_kib / 1024 / 1024, 1), "kernel": platform.release(),
        "os": distro, "python": platform.python_version(),
    }


def git_state() -> dict:
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.rstrip("\n")  # porcelain lines start with a significant space

    dirty = git("status", "--porcelain", "--untracked-files=normal", "--", "kernel", "plugins",
                "dispatchers", "tools", "sessions", "pyproject.toml")
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_changes": bool(dirty),
            "changed_paths": dirty.splitlines()}


def fmt(value: float | None, spec: str = ".0f", suffix: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{suffix}"


def markdown(result: dict) -> str:
    m = result["machine"]
    g = result["git"]
    settings = result["settings"]
    names = [t["name"] for t in result["targets"]]
    lines = [
        f"### Run of {result['date']}",
        "",
        f"- Command: `{result['command']}` ({result['elapsed_min']:.0f} min)",
        f"- Machine: {m['cpu']}, {m['cores']} cores{' (virtual machine)' if m['virtualized'] else ''}, "
        f"{m['memory_gib']} GiB, {m['os']}, Linux {m['kernel']}, Python {m['python']}",
        f"- drupe: commit {g['commit']}" + (
            " plus uncommitted changes in the working tree ("
            + ", ".join(p[3:] for p in g["changed_paths"][:8])
            + (f", and {len(g['changed_paths']) - 8} more" if len(g["changed_paths"]) > 8 else "")
            + ")" if g["uncommitted_changes"] else ""),
        *(["- **The drupe working tree changed while this run was going on**: figures may mix "
            "two versions."] if result["git_changed_during_run"] else []),
        f"- Load: {settings['loadgen_desc']}; {settings['connections']} keep-alive "
        f"connections, {settings['duration']:g} s per run, {settings['runs']} runs "
        f"(median), {settings['warmup']:g} s warm-up; cheroot thread pool "
        f"{SERVER_SETTINGS['thread_pool']}",
        f"- {settings['pinning']}",
        f"- Serving: {settings['serving']}",
    ]
    for t in result["targets"]:
        versions = ", ".join(f"{k} {v}" for k, v in t["versions"].items()
                             if k not in ("prefix", "drupe_distributions"))
        lines.append(f"  - `{t['name']}`: {t['label']} ({versions})")
    installed = next((t["versions"]["drupe_distributions"] for t in result["targets"]
                      if "drupe_distributions" in t["versions"]), None)
    if installed:
        lines.append(f"- drupe distributions installed: {', '.join(installed)}")
    for case, reason in result["not_measured"].items():
        lines.append(f"- `{case}`: not measured: {reason}")

    if result["goals"]:
        lines += ["", "**Targets** (column *drupe*: drupe.tree on a bare cheroot.wsgi.Server, compared "
                  "with raw cheroot and cherrypy.tree on that same server; column *drupe engine*: drupe "
                  "as run, engine.start() with its own server plugin, compared with raw cheroot and "
                  "with CherryPy as run, cherrypy.engine.start()):", "",
                  "| target | drupe | drupe engine |", "|---|---|---|"]
        by_goal: dict[str, dict[str, dict]] = {}
        for goal in result["goals"]:
            by_goal.setdefault(goal["goal"], {})[goal["target"]] = goal

        def cell(goal: dict | None) -> str:
            if goal is None:
                return "—"
            unit = goal["unit"]
            value = f"{goal['value']:.2f}×" if unit == "×" else f"{goal['value']:.0f}{unit}"
            return f"{value} {'met' if goal['met'] else '**NOT met**'}"

        for text, per in by_goal.items():
            lines.append(f"| {text} | {cell(per.get('drupe'))} | {cell(per.get('drupe-engine'))} |")

    ratio_columns = [(f"{a}/{b} rps", f"{PEER_NAMES[a]} / {PEER_NAMES[b]}") for a, b in PAIRS
                     if a in names and b in names]
    if ratio_columns:
        lines += ["", "Throughput ratios (req/s, medians):", "",
                  "| case | " + " | ".join(label for _, label in ratio_columns) + " |",
                  "|---|" + "---|" * len(ratio_columns)]
        for case, r in result["ratios"].items():
            lines.append(f"| {case} | " + " | ".join(fmt(r.get(key), ".2f", "×") for key, _ in ratio_columns)
                         + " |")
    cpu_columns = [(f"{a}-raw cpu_us", f"{PEER_NAMES[a]} − raw cheroot, µs")
                   for a in ("drupe", "drupe-engine") if a in names and "raw" in names]
    cpu_columns += [(f"{b}/{a} cpu", f"{PEER_NAMES[b]} ÷ {PEER_NAMES[a]}") for a, b in PAIRS
                    if b != "raw" and a in names and b in names]
    if cpu_columns:
        lines += ["", "Server CPU per request: drupe's extra over raw cheroot, and peer ÷ drupe "
                  "(how many times more requests drupe serves per CPU-second):", "",
                  "| case | " + " | ".join(label for _, label in cpu_columns) + " |",
                  "|---|" + "---|" * len(cpu_columns)]
        for case, r in result["ratios"].items():
            cells = [fmt(r.get(key), ".1f" if key.endswith("cpu_us") else ".2f",
                         "" if key.endswith("cpu_us") else "×") for key, _ in cpu_columns]
            lines.append(f"| {case} | " + " | ".join(cells) + " |")

    if result["startup"]:
        lines += ["", "Start-up and memory (import: median of fresh interpreters importing the framework; "
                  "first response: process start to the first 200 answer of the app with every "
                  "measured case's plugin; RSS after the checks, and the peak over the whole run):", "",
                  "| target | imports | import | first response | RSS after start | peak RSS | "
                  "peak RSS ÷ raw | peak RSS ÷ CherryPy |",
                  "|---|---|---|---|---|---|---|---|"]
        memory = result["memory"]

        def peak(name: str) -> float | None:
            return memory.get(name, {}).get("peak_rss_kib")

        for name in names:
            s = result["startup"].get(name, {})
            mem = memory.get(name, {})
            cp = "cherrypy-engine" if name.endswith("-engine") else "cherrypy"
            lines.append(
                f"| {name} | `{s.get('import_module', '')}` | {fmt(s.get('import_ms'), '.0f', ' ms')} | "
                f"{fmt(s.get('first_response_ms'), '.0f', ' ms')} | "
                f"{fmt(mem.get('after_checks_rss_kib', 0) / 1024 or None, '.1f', ' MiB')} | "
                f"{fmt((peak(name) or 0) / 1024 or None, '.1f', ' MiB')} | "
                f"{fmt(peak(name) / peak('raw') if peak(name) and peak('raw') else None, '.2f', '×')} | "
                f"{fmt(peak(name) / peak(cp) if peak(name) and peak(cp) else None, '.2f', '×')} |")

    lines += ["", "Medians (server CPU: % of one CPU the server process used; others: CPU other "
              "processes on the machine used meanwhile, % of one CPU; in-process: the WSGI app "
              "called in a loop, no server):", "",
              "| case | target | req/s | p50 | p99 | server CPU / req | server CPU | others | "
              "in-process / call |",
              "|---|---|---|---|---|---|---|---|---|"]
    for case in result["cases"]:
        for t in result["targets"]:
            s = result["socket"].get(case, {}).get(t["name"], {})
            i = result["inproc"].get(case, {}).get(t["app"] if t["server"] == "wsgi" else "", {})
            cells = [
                fmt(s.get("rps")),
                fmt(s.get("p50_us"), ".0f", " µs"),
                fmt(s.get("p99_us"), ".0f", " µs"),
                fmt(s.get("server_cpu_us_per_req"), ".0f", " µs"),
                fmt(s.get("server_cpu_pct"), ".0f", "%"),
                fmt(s.get("foreign_cpu_pct"), ".0f", "%"),
                fmt(i.get("us_per_call"), ".2f", " µs"),
            ]
            lines.append(f"| {case} | {t['name']} | " + " | ".join(cells) + " |")
    lines += ["", f"Raw figures: `bench/results/{result['file']}`."]
    return "\n".join(lines) + "\n"


def update_readme(text: str) -> None:
    readme = README.read_text()
    if README_BEGIN not in readme or README_END not in readme:
        sys.exit(f"{README} lacks the results markers; not rewriting it.")
    head, rest = readme.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    README.write_text(f"{head}{README_BEGIN}\n{text}{README_END}{tail}")


# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=3.0,
                        help="seconds per load run (3; wrk takes whole seconds)")
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="seconds of unrecorded load per target and case first (1)")
    parser.add_argument("--connections", type=int, default=10,
                        help="concurrent keep-alive connections (10; cheroot keeps at most 10 idle)")
    parser.add_argument("--runs", type=int, default=3, help="load runs per target and case (3)")
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES),
                        help=f"comma-separated, from: {', '.join(CASES)}")
    parser.add_argument("--targets", default="auto",
                        help="comma-separated, from: " + ", ".join(all_targets())
                        + " (auto: raw, drupe, cherrypy, falcon, plus the two engine variants once "
                          "drupe's cheroot server plugin is installed)")
    parser.add_argument("--inproc-reps", type=int, default=5, help="in-process repetitions (5)")
    parser.add_argument("--inproc-seconds", type=float, default=0.2,
                        help="approximate seconds per in-process repetition (0.2)")
    parser.add_argument("--startup-reps", type=int, default=5,
                        help="repetitions of the import and first-response timings (5)")
    parser.add_argument("--skip-inproc", action="store_true")
    parser.add_argument("--skip-socket", action="store_true")
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto",
                        help="auto: wrk (apt-get installed when missing and root), else loadgen.py")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--loadgen-procs", type=int, default=1, help="processes for loadgen.py (1)")
    parser.add_argument("--busy-threshold", type=float, default=15.0,
                        help="redo a measurement when other processes used more than this %% of a "
                             "CPU during it (15)")
    parser.add_argument("--retries", type=int, default=2,
                        help="redos per measurement on a busy machine before keeping it anyway (2)")
    parser.add_argument("--quiet-wait", type=float, default=10.0,
                        help="seconds to wait at most, before each measurement, for the rest of the "
                             "machine to fall under --busy-threshold (10; 0 = do not wait)")
    parser.add_argument("--patience", type=float, default=180.0,
                        help="seconds a run may spend in all, waiting for a quiet machine and redoing "
                             "disturbed measurements (180); then it measures whatever the load")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not pin servers to CPU 0 and the load generator to CPU 1")
    parser.add_argument("--readme", action="store_true",
                        help="rewrite the results section of bench/README.md with this run")
    parser.add_argument("--report", metavar="JSON",
                        help="measure nothing: recompute the ratios and targets of a recorded run "
                             "(bench/results/*.json) and print its report (with --readme, into the README)")
    args = parser.parse_args(argv)
    args.patience_left = args.patience
    args.server_cpu = None
    args.loadgen_cpu = None
    if not args.no_pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) >= 2:
            args.server_cpu, args.loadgen_cpu = cpus[0], cpus[1]
    return args


def unavailable_cases(cases: list[str]) -> dict[str, str]:
    """The cases drupe cannot serve here (a plugin not installed), with the reason."""
    import drupe

    out = {}
    for name in cases:
        missing = [f"{group}: {entry}" for group, entry in CASES[name].requires
                   if not drupe.registry.has(group, entry)]
        if missing:
            out[name] = "no drupe plugin registered for " + ", ".join(missing)
    return out


def report_again(path: str, readme: bool) -> None:
    """Recompute the ratios and targets of a recorded run, print its report (and into the README)."""
    file = Path(path)
    if not file.exists():
        file = RESULTS / path
    result = json.loads(file.read_text())
    result["ratios"] = ratios(result["inproc"], result["socket"])
    result["goals"] = evaluate_goals(result["ratios"], result["startup"])
    text = markdown(result)
    print(text)
    if readme:
        update_readme(text)
        log("bench/README.md updated")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.report:
        report_again(args.report, args.readme)
        return
    check_app_sources()
    asked = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in asked if c not in CASES]
    if unknown:
        sys.exit(f"unknown case(s) {unknown}; known: {list(CASES)}")
    not_measured = unavailable_cases(asked)
    for case, reason in not_measured.items():
        log(f"{case}: not measured: {reason}")
    cases = [c for c in asked if c not in not_measured]
    if "hello" not in cases:
        cases.insert(0, "hello")  # the start-up timing and every server check need it
    write_static_dir(STATIC_DIR)

    known = all_targets()
    landed = drupe_server_plugin_landed()
    if args.targets == "auto":
        names = ["raw", "drupe", "cherrypy", "falcon"]
        names += ["drupe-engine", "cherrypy-engine"] if landed else []
    else:
        names = [n.strip() for n in args.targets.split(",") if n.strip()]
    if [n for n in names if n not in known]:
        sys.exit(f"unknown target(s); known: {list(known)}")
    if "drupe-engine" in names and not landed:
        sys.exit("drupe-engine needs drupe's cheroot server plugin (drupe.servers: cheroot).")
    targets = [known[n] for n in names]

    import cheroot

    peers = None
    for target in targets:
        if target.env == "peers":
            peers = peers or peers_python(cheroot.__version__)
            target.python = peers
        else:
            target.python = sys.executable

    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if ensure_wrk() else "python"
    elif loadgen == "wrk" and not ensure_wrk():
        sys.exit("wrk is not available")

    started = dt.datetime.now(dt.timezone.utc)
    clock = time.perf_counter()
    git_before = git_state()  # the code the workers load is the code on disk now
    startup = {} if args.skip_startup else measure_startup(targets, cases, args)
    inproc = {} if args.skip_inproc else measure_inproc([t for t in targets if t.inproc], cases, args)
    socket, memory = ({}, {}) if args.skip_socket else measure_socket(targets, cases, args, loadgen)
    r = ratios(inproc, socket)
    goals = evaluate_goals(r, startup)

    stamp = started.strftime("%Y%m%d-%H%M%S")
    if loadgen == "wrk":
        loadgen_desc = f"{wrk_version()}, {args.wrk_threads} thread(s)"
    else:
        loadgen_desc = f"bench/loadgen.py, {args.loadgen_procs} process(es)"
    pinning = ("Pinning: every server (and in-process worker) on CPU "
               f"{args.server_cpu}, the load generator on CPU {args.loadgen_cpu}"
               if args.server_cpu is not None else "No CPU pinning")
    serving = ("drupe's cheroot server plugin is installed: the `-engine` targets run each "
               "framework's own server through engine.start()" if landed else
               "drupe's cheroot server plugin had not landed: every framework is served by a bare "
               "cheroot.wsgi.Server with the same settings")
    result = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "elapsed_min": (time.perf_counter() - clock) / 60,
        "file": f"{stamp}.json",
        "command": "uv run python bench/run.py" + (" " + shlex.join(argv) if argv else ""),
        "machine": machine(),
        "git": git_before,
        "git_changed_during_run": git_state() != git_before,
        "cases": cases,
        "not_measured": not_measured,
        "targets": [{"name": t.name, "label": t.label, "app": t.app, "server": t.server,
                     "versions": t.versions} for t in targets],
        "settings": {
            "duration": args.duration, "warmup": args.warmup, "connections": args.connections,
            "runs": args.runs, "inproc_reps": args.inproc_reps,
            "inproc_seconds": args.inproc_seconds, "startup_reps": args.startup_reps,
            "loadgen": loadgen, "loadgen_desc": loadgen_desc, "pinning": pinning,
            "serving": serving, "server": SERVER_SETTINGS, "drupe_server_plugin": landed,
        },
        "startup": startup,
        "memory": memory,
        "inproc": inproc,
        "socket": socket,
        "ratios": r,
        "goals": goals,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / result["file"]).write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    print(text)
    log(f"raw results: {(RESULTS / result['file']).relative_to(ROOT)}")
    if args.readme:
        update_readme(text)
        log("bench/README.md updated")


if __name__ == "__main__":
    main()
