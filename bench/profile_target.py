"""Where a target's time goes in-process: cProfile over the benchmark's WSGI loop.

    uv run python bench/profile_target.py [--target drupe] [--case hello] [--calls 20000] [--top 25]
    bench/.envs/cherrypy-18.10.0/bin/python bench/profile_target.py --target cherrypy

Runs the same loop as run.py's in-process measurement (worker.time_calls) under cProfile
after a warm-up, and prints the functions with the most own time and the most cumulative
time. cProfile inflates the cost of small functions; for a sampling view of the same loop
use py-spy (``py-spy record --format raw -o out.txt -- python bench/profile_target.py
--no-profile --calls 200000``), or attach it to a server that run.py started.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import worker  # noqa: E402
from cases import CASES, write_static_dir  # noqa: E402
from run import SERVER_SETTINGS, STATIC_DIR  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="drupe", choices=sorted(worker.APP_MODULES))
    parser.add_argument("--case", default="hello", choices=sorted(CASES))
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-profile", action="store_true",
                        help="run the loop without cProfile (to sample it with an outside profiler)")
    args = parser.parse_args()

    write_static_dir(STATIC_DIR)
    settings = dict(SERVER_SETTINGS, port=0, cases=[args.case], static_dir=str(STATIC_DIR))
    _, app = worker.load_app(args.target, settings)
    case = CASES[args.case]
    problem, cookie = worker.check_case(app, case)
    if problem:
        sys.exit(f"{args.target} answers {args.case} wrongly: {problem}")
    worker.time_calls(app, case, 2000, cookie)  # warm-up: plans, caches, lazy imports

    plain = worker.time_calls(app, case, args.calls, cookie) / args.calls / 1000
    print(f"{args.target} {args.case}: {plain:.2f} µs per call without the profiler")
    if args.no_profile:
        return
    profiler = cProfile.Profile(time.perf_counter)
    profiler.enable()
    worker.time_calls(app, case, args.calls, cookie)
    profiler.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(args.top)
        text = out.getvalue()
        print(f"--- by {order} (per {args.calls} calls) ---")
        print(text[text.index("   ncalls"):] if "   ncalls" in text else text)


if __name__ == "__main__":
    main()
