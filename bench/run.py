"""drupe's benchmark: drupe against CherryPy and raw cheroot, in one run, as ratios.

    uv run python bench/run.py [--duration 10] [--connections 10] [--runs 3]
                               [--cases hello,greet] [--targets raw,drupe,cherrypy] [--readme]

Two measurements, each alternating the targets (the order rotates from one repetition to
the next):

* in-process: each target's WSGI app called in a loop with a prebuilt environ (a fresh
  copy and a fresh ``wsgi.input`` per call), the body consumed and closed; µs per call,
  the median of ``--inproc-reps`` repetitions;
* over loopback: each target served by cheroot in its own process; a load generator
  (``wrk``, or ``loadgen.py`` without it) in another process keeps ``--connections``
  keep-alive connections busy for ``--duration`` seconds; req/s, p50/p99 latency and the
  server's CPU time per request (from /proc/<pid>/stat), the median of ``--runs`` runs.

drupe runs from the workspace environment; CherryPy from a throwaway environment that
this script creates under bench/.envs/ with uv (the workspace venv and uv.lock are never
touched). Raw JSON goes to bench/results/; ``--readme`` also rewrites the results section
of bench/README.md. This is a benchmark, not a test: it asserts nothing about time.
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

from cases import CASES, DEFAULT_CASES  # noqa: E402

ENVS = HERE / ".envs"
RESULTS = HERE / "results"
README = HERE / "README.md"
WORKER = HERE / "worker.py"
CHERRYPY_VERSION = "18.10.0"
VERSION_KEYS = ("python", "cheroot", "drupe", "cherrypy", "prefix", "drupe_distributions")

README_BEGIN = "<!-- results:begin (written by bench/run.py --readme) -->"
README_END = "<!-- results:end -->"

# The performance targets for the first kernel (reported, never asserted).
GOALS = {
    # drupe hello world req/s >= 0.85 x raw cheroot's. "drupe" here is drupe as it is run:
    # quickstart / engine.start() with its own server plugin (the drupe-engine target).
    # The drupe target (drupe.tree on stock cheroot) is reported beside it: the
    # framework's cost alone, on an identical server.
    "hello_vs_raw_rps": 0.85,
    "inproc_speedup_vs_cherrypy": 5.0,  # drupe in-process time <= 1/5 of CherryPy's
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
    env: str  # "workspace" or "cherrypy"
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
            Target("cherrypy", "cherrypy", "wsgi", "cherrypy",
                   f"CherryPy {CHERRYPY_VERSION} cherrypy.tree on cheroot.wsgi.Server"),
            Target("drupe-engine", "drupe", "engine", "workspace",
                   "drupe via drupe.engine.start() (its cheroot plugin)"),
            Target("cherrypy-engine", "cherrypy", "engine", "cherrypy",
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
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def cherrypy_python(cheroot_version: str) -> str:
    """The throwaway CherryPy environment's interpreter, created on first use.

    Same interpreter version as the workspace and the same cheroot version, so the only
    difference between the environments is the framework.
    """
    spec = {"cherrypy": CHERRYPY_VERSION, "cheroot": cheroot_version,
            "python": platform.python_version()}
    env_dir = ENVS / f"cherrypy-{CHERRYPY_VERSION}"
    python = env_dir / "bin" / "python"
    marker = env_dir / "bench-spec.json"
    if python.exists() and marker.exists() and json.loads(marker.read_text()) == spec:
        return str(python)
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        sys.exit("uv is needed to create the CherryPy environment (run this with `uv run`).")
    log(f"creating {env_dir.relative_to(ROOT)} (CherryPy {CHERRYPY_VERSION}, cheroot {cheroot_version})")
    ENVS.mkdir(exist_ok=True)
    # --no-config: ignore the workspace's uv settings; `uv pip --python` installs into that
    # interpreter's environment only (no project, no lock file involved).
    env = clean_env()
    subprocess.run([uv, "venv", "--no-config", "--quiet", "--clear", "--python", sys.executable,
                    str(env_dir)], check=True, cwd=ENVS, env=env)
    subprocess.run([uv, "pip", "install", "--no-config", "--quiet", "--python", str(python),
                    f"cherrypy=={CHERRYPY_VERSION}", f"cheroot=={cheroot_version}"],
                   check=True, cwd=ENVS, env=env)
    marker.write_text(json.dumps(spec))
    return str(python)


def check_app_sources() -> None:
    """drupe_app.py and cherrypy_app.py must be the same code but for the import line."""
    def code(name: str, import_line: str) -> list[str]:
        text = (HERE / "apps" / name).read_text()
        body = text.split('"""', 2)[2]  # drop the module docstring
        return [line for line in body.splitlines() if line != import_line]

    if code("drupe_app.py", "import drupe as cherrypy") != code("cherrypy_app.py", "import cherrypy"):
        sys.exit("bench/apps/drupe_app.py and cherrypy_app.py differ beyond the import line.")


# ---------------------------------------------------------------------------------------
# Processes


def pinned(cpu: int | None):
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def worker_command(target: Target, mode: str) -> list[str]:
    return [target.python, str(WORKER), mode, "--target", target.app, "--server", target.server,
            "--settings", json.dumps(SERVER_SETTINGS)]


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
    def __init__(self, target: Target, cpu: int | None) -> None:
        self.target = target
        self.proc = subprocess.Popen(worker_command(target, "inproc"), stdin=subprocess.PIPE,
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
    def __init__(self, target: Target, cpu: int | None) -> None:
        self.target = target
        self.proc = subprocess.Popen(worker_command(target, "serve"), stdin=subprocess.PIPE,
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

    def check(self, case) -> str | None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(case.method, case.target, body=case.body or None, headers=dict(case.headers))
            response = conn.getresponse()
            body = response.read()
            names = {name.lower() for name, _ in response.getheaders()}
            return case.check(response.status, body, names)
        finally:
            conn.close()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------------------------------
# Load generation


def run_loadgen(kind: str, port: int, case, connections: int, duration: float,
                cpu: int | None, wrk_threads: int, procs: int) -> dict:
    """One load run against 127.0.0.1:port; the generator's report plus its CPU time."""
    if kind == "wrk":
        cmd = ["wrk", f"-t{wrk_threads}", f"-c{connections}", f"-d{duration:g}s", "--latency",
               "-s", str(HERE / "wrk_report.lua"), f"http://127.0.0.1:{port}{case.target}"]
        for name, value in case.headers:
            cmd[1:1] = ["-H", f"{name}: {value}"]
    else:
        cmd = [sys.executable, str(HERE / "loadgen.py"), "--port", str(port), "--target", case.target,
               "-c", str(connections), "-d", str(duration), "--procs", str(procs)]
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
    run during one measures them as much as the target. Returns the seconds waited.
    """
    waited = 0.0
    while waited < args.quiet_wait:
        before, _ = machine_busy_seconds()
        time.sleep(0.5)
        waited += 0.5
        if 100 * (machine_busy_seconds()[0] - before) / 0.5 <= args.busy_threshold:
            break
    return waited


def rotate(items: list, by: int) -> list:
    by %= len(items) or 1
    return items[by:] + items[:by]


def measure_inproc(targets: list[Target], cases: list[str], args) -> dict:
    workers = {t.name: InprocWorker(t, args.server_cpu) for t in targets}
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
                        if sample["foreign_cpu_pct"] <= args.busy_threshold or attempt == args.retries:
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


def measure_socket(targets: list[Target], cases: list[str], args, loadgen: str) -> dict:
    servers: dict[str, ServerProcess] = {}
    try:
        for target in targets:
            servers[target.name] = ServerProcess(target, args.server_cpu)
            target.versions = {k: v for k, v in servers[target.name].info.items()
                               if k in VERSION_KEYS}
            log(f"{target.name}: serving on port {servers[target.name].port} "
                f"(pid {servers[target.name].proc.pid})")
        for case in cases:
            for name, server in servers.items():
                problem = server.check(CASES[case])
                if problem:
                    sys.exit(f"{name}: wrong response over HTTP for {case!r}: {problem}")
        if args.warmup > 0:
            for case in cases:
                for server in servers.values():
                    run_loadgen(loadgen, server.port, CASES[case], args.connections, args.warmup,
                                args.loadgen_cpu, args.wrk_threads, args.loadgen_procs)
            log(f"warmed up ({args.warmup:g} s per target and case)")
        runs: dict = {case: {name: [] for name in servers} for case in cases}
        discarded: dict = {case: {name: [] for name in servers} for case in cases}
        for run in range(args.runs):
            for case in cases:
                for name in rotate(list(servers), run):
                    for attempt in range(args.retries + 1):
                        wait_for_quiet(args)
                        sample = load_run(servers[name], case, args, loadgen)
                        if sample["foreign_cpu_pct"] <= args.busy_threshold or attempt == args.retries:
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
        return {case: {name: summarize(samples, discarded[case][name]) for name, samples in per.items()}
                for case, per in runs.items()}
    finally:
        for server in servers.values():
            server.close()


def load_run(server: ServerProcess, case: str, args, loadgen: str) -> dict:
    """One recorded load run, with the CPU time of the server, the generator and the rest."""
    cpu_before = server.cpu_seconds()
    busy_before, steal_before = machine_busy_seconds()
    report = run_loadgen(loadgen, server.port, CASES[case], args.connections, args.duration,
                         args.loadgen_cpu, args.wrk_threads, args.loadgen_procs)
    busy_after, steal_after = machine_busy_seconds()
    server_cpu = server.cpu_seconds() - cpu_before
    seconds = report["duration_us"] / 1e6
    requests = report["requests"]
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


def ratios(inproc: dict, socket: dict) -> dict:
    def div(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    out: dict = {}
    for case in sorted(set(inproc) | set(socket)):
        s = socket.get(case, {})
        i = inproc.get(case, {})

        def rps(name: str, s: dict = s) -> float | None:
            return s.get(name, {}).get("rps")

        def us(name: str, i: dict = i) -> float | None:
            return i.get(name, {}).get("us_per_call")

        def cpu(name: str, s: dict = s) -> float | None:
            return s.get(name, {}).get("server_cpu_us_per_req")

        def paired(a: str, b: str, s: dict = s) -> float | None:
            # Run i of a over run i of b (measured next to each other): less sensitive to
            # a load that comes and goes than the ratio of the medians.
            if a not in s or b not in s:
                return None
            pairs = [x["rps"] / y["rps"] for x, y in zip(s[a]["runs"], s[b]["runs"], strict=True) if y["rps"]]
            return statistics.median(pairs) if pairs else None

        entry = {
            "drupe_vs_raw_rps": div(rps("drupe"), rps("raw")),
            "drupe_vs_raw_rps_paired": paired("drupe", "raw"),
            "drupe_vs_raw_cpu": div(cpu("raw"), cpu("drupe")),
            "drupe_vs_cherrypy_cpu": div(cpu("cherrypy"), cpu("drupe")),
            "drupe_vs_cherrypy_rps_paired": paired("drupe", "cherrypy"),
            "drupe_vs_cherrypy_rps": div(rps("drupe"), rps("cherrypy")),
            "cherrypy_us_over_drupe_us": div(us("cherrypy"), us("drupe")),
            "drupe_engine_vs_raw_rps": div(rps("drupe-engine"), rps("raw")),
            "drupe_engine_vs_cherrypy_engine_rps": div(rps("drupe-engine"), rps("cherrypy-engine")),
        }
        out[case] = {k: v for k, v in entry.items() if v is not None}
    return out


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
    lines = [
        f"### Run of {result['date']}",
        "",
        f"- Command: `{result['command']}`",
        f"- Machine: {m['cpu']}, {m['cores']} cores{' (virtual machine)' if m['virtualized'] else ''}, "
        f"{m['memory_gib']} GiB, {m['os']}, Linux {m['kernel']}, Python {m['python']}",
        f"- drupe: commit {g['commit']}" + (
            " plus uncommitted changes in the working tree ("
            + ", ".join(p[3:] for p in g["changed_paths"][:8])
            + (f", and {len(g['changed_paths']) - 8} more" if len(g["changed_paths"]) > 8 else "")
            + ")" if g["uncommitted_changes"] else ""),
        *(["- **The drupe working tree changed while this run was going on**: figures may mix "
            "two versions."] if result["git_changed_during_run"] else []),
        f"- Load: {result['settings']['loadgen_desc']}; {result['settings']['connections']} keep-alive "
        f"connections, {result['settings']['duration']:g} s per run, {result['settings']['runs']} runs "
        f"(median), {result['settings']['warmup']:g} s warm-up; cheroot thread pool "
        f"{SERVER_SETTINGS['thread_pool']}",
        f"- {result['settings']['pinning']}",
        f"- Serving: {result['settings']['serving']}",
    ]
    for t in result["targets"]:
        versions = ", ".join(f"{k} {v}" for k, v in t["versions"].items()
                             if k not in ("prefix", "drupe_distributions"))
        lines.append(f"  - `{t['name']}`: {t['label']} ({versions})")
    installed = next((t["versions"]["drupe_distributions"] for t in result["targets"]
                      if "drupe_distributions" in t["versions"]), None)
    if installed:
        lines.append(f"- drupe distributions installed: {', '.join(installed)}")
    columns = [
        ("drupe_vs_raw_rps", "drupe / raw cheroot req/s", ".2f"),
        ("drupe_vs_raw_cpu", "drupe / raw cheroot req per server CPU-s", ".2f"),
        ("drupe_vs_cherrypy_rps", "drupe / CherryPy req/s", ".2f"),
        ("drupe_vs_cherrypy_cpu", "drupe / CherryPy req per server CPU-s", ".2f"),
        ("cherrypy_us_over_drupe_us", "CherryPy µs / drupe µs in-process", ".1f"),
    ]
    if any(t["name"] == "drupe-engine" for t in result["targets"]):
        columns += [
            ("drupe_engine_vs_raw_rps", "drupe engine / raw cheroot req/s", ".2f"),
            ("drupe_engine_vs_cherrypy_engine_rps", "drupe engine / CherryPy engine req/s", ".2f"),
        ]
    columns = [c for c in columns if any(c[0] in r for r in result["ratios"].values())]
    lines += ["", "Ratios (targets for this first kernel: hello world drupe as run — engine.start() "
              "with its server plugin, the *drupe engine* column — / raw cheroot req/s ≥ "
              f"{GOALS['hello_vs_raw_rps']}; in-process CherryPy µs / drupe µs ≥ "
              f"{GOALS['inproc_speedup_vs_cherrypy']:g}):", "",
              "| case | " + " | ".join(c[1] for c in columns) + " |",
              "|---|" + "---|" * len(columns)]
    for case, r in result["ratios"].items():
        lines.append(f"| {case} | " + " | ".join(fmt(r.get(key), spec) for key, _, spec in columns) + " |")
    goals = result["goals"]
    if goals:
        lines += [""] + [f"- {text}: **{'met' if ok else 'NOT met'}** ({value:.2f})"
                         for text, (value, ok) in goals.items()]
    lines += ["", "Medians (server CPU: % of one CPU the server process used; others: CPU other "
              "processes on the machine used meanwhile, % of one CPU):", "",
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


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load run (10)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of unrecorded load per target and case first (2)")
    parser.add_argument("--connections", type=int, default=10,
                        help="concurrent keep-alive connections (10; cheroot keeps at most 10 idle)")
    parser.add_argument("--runs", type=int, default=3, help="load runs per target and case (3)")
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES),
                        help=f"comma-separated, from: {', '.join(CASES)}")
    parser.add_argument("--targets", default="auto",
                        help="comma-separated, from: " + ", ".join(all_targets())
                        + " (auto: raw, drupe, cherrypy, plus the two engine variants once "
                          "drupe's cheroot server plugin is installed)")
    parser.add_argument("--inproc-reps", type=int, default=7, help="in-process repetitions (7)")
    parser.add_argument("--inproc-seconds", type=float, default=0.3,
                        help="approximate seconds per in-process repetition (0.3)")
    parser.add_argument("--skip-inproc", action="store_true")
    parser.add_argument("--skip-socket", action="store_true")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto",
                        help="auto: wrk (apt-get installed when missing and root), else loadgen.py")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--loadgen-procs", type=int, default=1, help="processes for loadgen.py (1)")
    parser.add_argument("--busy-threshold", type=float, default=15.0,
                        help="redo a measurement when other processes used more than this %% of a "
                             "CPU during it (15)")
    parser.add_argument("--retries", type=int, default=3,
                        help="redos per measurement on a busy machine before keeping it anyway (3)")
    parser.add_argument("--quiet-wait", type=float, default=30.0,
                        help="seconds to wait at most, before each measurement, for the rest of the "
                             "machine to fall under --busy-threshold (30; 0 = do not wait)")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not pin servers to CPU 0 and the load generator to CPU 1")
    parser.add_argument("--readme", action="store_true",
                        help="rewrite the results section of bench/README.md with this run")
    args = parser.parse_args(argv)
    args.server_cpu = None
    args.loadgen_cpu = None
    if not args.no_pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) >= 2:
            args.server_cpu, args.loadgen_cpu = cpus[0], cpus[1]
    return args


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    check_app_sources()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        sys.exit(f"unknown case(s) {unknown}; known: {list(CASES)}")

    known = all_targets()
    landed = drupe_server_plugin_landed()
    if args.targets == "auto":
        names = ["raw", "drupe", "cherrypy"] + (["drupe-engine", "cherrypy-engine"] if landed else [])
    else:
        names = [n.strip() for n in args.targets.split(",") if n.strip()]
    if [n for n in names if n not in known]:
        sys.exit(f"unknown target(s); known: {list(known)}")
    if "drupe-engine" in names and not landed:
        sys.exit("drupe-engine needs drupe's cheroot server plugin (drupe.servers: cheroot).")
    targets = [known[n] for n in names]

    import cheroot

    cp_python = None
    for target in targets:
        if target.env == "cherrypy":
            cp_python = cp_python or cherrypy_python(cheroot.__version__)
            target.python = cp_python
        else:
            target.python = sys.executable

    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if ensure_wrk() else "python"
    elif loadgen == "wrk" and not ensure_wrk():
        sys.exit("wrk is not available")

    started = dt.datetime.now(dt.timezone.utc)
    git_before = git_state()  # the code the workers load is the code on disk now
    inproc = {} if args.skip_inproc else measure_inproc([t for t in targets if t.inproc], cases, args)
    socket = {} if args.skip_socket else measure_socket(targets, cases, args, loadgen)

    r = ratios(inproc, socket)
    goals: dict[str, tuple[float, bool]] = {}
    hello = r.get("hello", {})
    if "drupe_engine_vs_raw_rps" in hello:
        v = hello["drupe_engine_vs_raw_rps"]
        goals[f"hello world drupe (as run: engine.start(), its server plugin) / raw cheroot "
              f"req/s ≥ {GOALS['hello_vs_raw_rps']}"] = (v, v >= GOALS["hello_vs_raw_rps"])
    if "drupe_vs_raw_rps" in hello:
        v = hello["drupe_vs_raw_rps"]
        # Not a goal: the framework alone on stock cheroot, reported for honesty.
        goals[f"(for reference) hello world drupe.tree on stock cheroot / raw cheroot req/s "
              f"≥ {GOALS['hello_vs_raw_rps']}"] = (v, v >= GOALS["hello_vs_raw_rps"])
    if "cherrypy_us_over_drupe_us" in hello:
        v = hello["cherrypy_us_over_drupe_us"]
        goals[f"hello world in-process CherryPy µs / drupe µs ≥ {GOALS['inproc_speedup_vs_cherrypy']:g}"] = (
            v, v >= GOALS["inproc_speedup_vs_cherrypy"])

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
               "drupe's cheroot server plugin had not landed: drupe.tree and cherrypy.tree are "
               "each served by a bare cheroot.wsgi.Server with the same settings")
    result = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "file": f"{stamp}.json",
        "command": "uv run python bench/run.py" + (" " + shlex.join(argv) if argv else ""),
        "machine": machine(),
        "git": git_before,
        "git_changed_during_run": git_state() != git_before,
        "cases": cases,
        "targets": [{"name": t.name, "label": t.label, "app": t.app, "server": t.server,
                     "versions": t.versions} for t in targets],
        "settings": {
            "duration": args.duration, "warmup": args.warmup, "connections": args.connections,
            "runs": args.runs, "inproc_reps": args.inproc_reps,
            "inproc_seconds": args.inproc_seconds, "loadgen": loadgen,
            "loadgen_desc": loadgen_desc, "pinning": pinning, "serving": serving,
            "server": SERVER_SETTINGS, "drupe_server_plugin": landed,
        },
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
