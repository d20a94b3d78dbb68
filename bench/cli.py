"""The `python3 -m bench` command line: choose benchmarks and runners, run the
suite, print the table, and write the JSON, Markdown and plot outputs asked for.
"""

import argparse
import json
import shlex
import sys

from bench import benchmarks as catalogue
from bench import report, runners
from bench.build import BuildError
from bench.driver import run_suite


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python3 -m bench", description=__doc__)
    p.add_argument("benchmarks", nargs="*", metavar="BENCHMARK",
                   help=f"benchmarks to run (default: all): {', '.join(catalogue.BY_NAME)}")
    p.add_argument("--runs", type=int, default=None, help="runs per cell (default 3; 1 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="short runs, one each, no 1 GB transfer: under 2 minutes while developing")
    p.add_argument("--runners", default="",
                   help="comma-separated runners (default: all): " + ", ".join(r.name for r in runners.all_runners()))
    p.add_argument("--host-dir", help="host directory of the fs benchmark (default: a fresh one under /var/tmp)")
    p.add_argument("--json", metavar="FILE", help="write the results document as JSON")
    p.add_argument("--markdown", metavar="FILE", help="write the README performance section (Markdown)")
    p.add_argument("--plot", metavar="FILE", help="write a PNG of slowdowns against native")
    p.add_argument("--list", action="store_true", help="list benchmarks, cases and runners, and exit")
    p.add_argument("-q", "--no-progress", action="store_true", help="no progress lines on stderr")
    return p.parse_args(argv)


def list_catalogue():
    for bench in catalogue.BENCHMARKS:
        print(f"{bench.name}: {bench.description}")
        for case in bench.cases:
            notes = ([] if case.quick else ["not in --quick"]) + (["host network"] if case.host_network else [])
            print(f"  {case.id:30} {case.label} [{case.unit}]" + "".join(f" ({n})" for n in notes))
    print("runners:")
    for r in runners.all_runners():
        print(f"  {r.name:18} {r.description}")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.list:
        list_catalogue()
        return 0
    try:
        catalogue.select(args.benchmarks)
        chosen = runners.select([n.strip() for n in args.runners.split(",") if n.strip()])
    except ValueError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    runs = args.runs if args.runs is not None else (1 if args.quick else 3)
    command = "python3 -m bench" + "".join(" " + shlex.quote(a) for a in argv)
    try:
        doc = run_suite(args.benchmarks, chosen, runs=runs, quick=args.quick, host_dir=args.host_dir,
                        command=command, progress=None if args.no_progress else sys.stderr)
    except BuildError as e:
        print(f"bench: cannot build the benchmark programs: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(report.text_table(doc))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(report.markdown_table(doc))
    if args.plot:
        why = report.plot(doc, args.plot)
        if why:
            print(f"bench: {why}", file=sys.stderr)
    return 0
