"""snakevisor's benchmark suite: native vs runc vs runsc vs snakevisor, measured
side by side in one run (issue 7). Run it with `python3 -m bench` from the
repository root; `python3 -m bench --help` lists the options.

Modules: benchmarks (the catalogue), build (compiles programs/*.c), runners
(how a program is started), servers (host servers and served cases: nginx
under wrk), driver (runs and summarizes), report (tables and plot),
ptrace_loop (the bare Python ptrace baseline), cli (the command).
Benchmarks print figures; they are not tests and never pass or fail on timing.
"""
