"""Presents a results document (bench.driver.run_suite): the text table for
stdout, the Markdown table of the README's performance section, and the PNG
plot of slowdowns against native (matplotlib, when importable).
"""


def fmt_value(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_ratio(r):
    if r is None:
        return "-"
    return f"{r:.1f}x" if r >= 10 else f"{r:.2f}x"


def cell_note(cell):
    """The text of a cell that has no figure."""
    status = cell.get("status")
    message = cell.get("message")
    if status in ("n/a",):
        return "n/a"
    return f"{status}: {message}" if message else status


def _machine_line(doc):
    m = doc.get("machine", {})
    parts = [m.get("cpu") or "unknown CPU", f"{m.get('cpus')} CPUs",
             f"{m.get('memory_gib')} GiB" if m.get("memory_gib") else None,
             ("VM" if m.get("virtualized") else None), m.get("os"), f"Linux {m.get('kernel')}",
             f"Python {m.get('python')}"]
    return ", ".join(p for p in parts if p)


def _runner_lines(doc):
    lines = []
    for name, info in doc["runners"].items():
        if info["status"] == "ok":
            version = f" [{info['version']}]" if info.get("version") else ""
            lines.append(f"{name}: {info['description']}{version}")
        else:
            lines.append(f"{name}: missing: {info['reason']}")
    return lines


def text_table(doc):
    """The long-form table: one line per case and runner."""
    out = [f"snakevisor benchmarks  {doc['date']}  runs={doc['runs']}{'  (quick)' if doc['quick'] else ''}",
           f"machine: {_machine_line(doc)}", f"command: {doc['command']}", "runners:"]
    out += [f"  {line}" for line in _runner_lines(doc)]
    out.append("slowdown = how many times slower than native / runc (median; >1 is slower)")
    header = f"{'case':34} {'runner':27} {'median':>12} {'min':>12} {'max':>12} {'unit':6} {'x native':>9} {'x runc':>9}"
    for bench in doc["benchmarks"]:
        out += ["", f"== {bench['name']}: {bench['description']}", header, "-" * len(header)]
        for case in bench["cases"]:
            first = True
            for runner, cell in case["cells"].items():
                label = case["label"] if first else ""
                first = False
                if cell["status"] == "ok":
                    out.append(f"{label[:34]:34} {runner:27} {fmt_value(cell['median']):>12} {fmt_value(cell['min']):>12} "
                               f"{fmt_value(cell['max']):>12} {case['unit']:6} {fmt_ratio(cell.get('vs_native')):>9} "
                               f"{fmt_ratio(cell.get('vs_runc')):>9}")
                else:
                    out.append(f"{label[:34]:34} {runner:27} {cell_note(cell)}")
    if doc.get("skipped"):
        out += ["", f"skipped in quick mode: {', '.join(doc['skipped'])}"]
    return "\n".join(out) + "\n"


def _md_escape(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(doc):
    """The README's performance section: a case x runner matrix of medians
    with the slowdown against native and runc."""
    runners = list(doc["runners"])
    out = ["## Performance", "",
           f"Measured {doc['date']} on {_md_escape(_machine_line(doc))}, with",
           "", f"    {doc['command']}", "",
           f"Medians of {doc['runs']} run(s); in brackets how many times slower than native (n) and runc (r) "
           "in the same run (>1 is slower). Every figure comes from that one command.", ""]
    out += [f"- {_md_escape(line)}" for line in _runner_lines(doc)]
    out += ["", "| case | unit | " + " | ".join(runners) + " |", "|---|---|" + "---|" * len(runners)]
    for bench in doc["benchmarks"]:
        for case in bench["cases"]:
            row = [f"{bench['name']}: {_md_escape(case['label'])}", case["unit"]]
            for name in runners:
                cell = case["cells"].get(name, {"status": "n/a"})
                if cell["status"] == "ok":
                    ratios = [f"{fmt_ratio(cell.get('vs_native'))} n" if cell.get("vs_native") is not None else None,
                              f"{fmt_ratio(cell.get('vs_runc'))} r" if cell.get("vs_runc") is not None else None]
                    ratios = ", ".join(r for r in ratios if r)
                    row.append(fmt_value(cell["median"]) + (f" ({ratios})" if ratios else ""))
                elif cell["status"] == "missing" and doc["runners"].get(name, {}).get("status") == "missing":
                    row.append("missing")  # why is listed once, above the table
                else:
                    row.append(_md_escape(cell_note(cell))[:80])
            out.append("| " + " | ".join(row) + " |")
    if doc.get("skipped"):
        out += ["", f"Skipped in quick mode: {', '.join(doc['skipped'])}."]
    return "\n".join(out) + "\n"


def plot(doc, path):
    """Writes a PNG of slowdown against native per case and runner; returns
    None, or why no plot was made."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not importable (pip install matplotlib); plot skipped"
    ok = [n for n, info in doc["runners"].items() if info["status"] == "ok"]
    runners = [n for n in ok if n != "native"] or ok  # native is the 1x line itself
    cases = [c for b in doc["benchmarks"] for c in b["cases"]
             if any(c["cells"].get(r, {}).get("vs_native") for r in runners)]
    if not cases or not runners:
        return "nothing to plot (no ratios to native)"
    height = 0.8 / len(runners)
    fig, ax = plt.subplots(figsize=(10, 1.5 + 0.1 * len(cases) * max(3, len(runners))))
    for i, name in enumerate(runners):
        ys, widths = [], []
        for j, case in enumerate(cases):
            ratio = case["cells"].get(name, {}).get("vs_native")
            if ratio:
                ys.append(j + i * height)
                widths.append(ratio - 1.0)  # bars grow from the native line: right slower, left faster
        ax.barh(ys, widths, left=1.0, height=height, label=name)
    ax.set_yticks([j + (len(runners) - 1) * height / 2 for j in range(len(cases))])
    ax.set_yticklabels([c["id"] for c in cases], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("times slower than native (median, log scale)")
    ax.set_title(f"snakevisor benchmarks, {doc['date'][:10]}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None
