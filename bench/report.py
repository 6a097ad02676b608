#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Turns rope_bench JSON files into what a reader sees.

  /usr/bin/python3 bench/report.py --readme README.md bench/results/*.json

Each JSON file is one `rope_bench --benchmark_format=json` run (one CPU, one
kernel path). The script
  - prints the README's short tables (Llama-3-8B, one per file) on stdout and,
    with --readme, writes them between the README's report.py markers;
  - writes bench/RESULTS.md: every shape, phase, dtype, layout, peer, policy
    and the two-thread cases, per file, then any bench/results/*.md
    (measurements kept as text, without JSON) verbatim;
  - draws bench/roofline.png: roofline_ratio by phase and dtype, one bar per
    implementation, one panel per file.
Needs Debian's python3-matplotlib (hence /usr/bin/python3) for the plot only.
"""

import argparse
import json
import os
import re
import sys

SHORT_MODEL = "llama3_8b"
SHORT_PHASES = ["decode1", "decode64", "prefill4096"]
PLOT_DTYPES = ["f32", "bf16", "f16"]
# (impl, layout, legend): the bar series of the plot.
PLOT_SERIES = [
    ("ropekit", "neox", "ropekit, half-split (neox)"),
    ("ropekit", "gptj", "ropekit, interleaved (gptj)"),
    ("ropekit_cached", "neox", "ropekit_cached (cos/sin from a CosSinCache), neox"),
    ("naive_loop", "neox", "naive_loop over a cos/sin table (f32 only), neox"),
    ("eigen_array", "neox", "eigen_array over a cos/sin table (f32 only), neox"),
]
MODEL_TITLES = {
    "llama3_8b": "Llama-3-8B (32 q heads, 8 kv heads, head_dim 128)",
    "qwen25_7b": "Qwen2.5-7B (28 q heads, 4 kv heads, head_dim 128)",
    "phi3_mini": "Phi-3-mini (32 q heads, 32 kv heads, head_dim 96)",
    "gpt_neox_20b": "GPT-NeoX-20B (64 q heads, 64 kv heads, head_dim 96, rotary 24)",
    "gemma4_global": "Gemma 4 full attention (16 q heads, 2 kv heads, head_dim 512, proportional 0.25)",
}
BEGIN_MARK = "<!-- bench/report.py: short tables begin -->"
END_MARK = "<!-- bench/report.py: short tables end -->"
DASH = "-"


class Run:
    """One benchmark JSON file: its context and its cases by name."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        self.path = path
        self.context = data.get("context", {})
        self.cases = {}
        for case in data.get("benchmarks", []):
            if case.get("run_type", "iteration") == "iteration":
                self.cases[case["name"]] = case
        self.names = list(self.cases)

    def value(self, name, key):
        case = self.cases.get(name)
        return None if case is None else case.get(key)

    def field(self, key, default="not recorded"):
        value = self.context.get(key)
        return value if value not in (None, "") else default

    @property
    def cpu(self):
        return self.field("cpu_model", "CPU not recorded")

    @property
    def isa(self):
        """The kernel path: the context's, checked against the case labels."""
        labels = {c.get("label") for n, c in self.cases.items()
                  if n.startswith("ropekit/") and c.get("label")}
        recorded = self.context.get("ropekit_isa")
        if recorded and labels and labels != {recorded}:
            return "%s (cases labelled %s)" % (recorded, ", ".join(sorted(labels)))
        if recorded:
            return recorded
        if len(labels) == 1:
            return labels.pop()
        return "kernel path not recorded"

    def path_words(self):
        isa = self.isa
        return isa if "not recorded" in isa else isa + " path"

    @property
    def date(self):
        return self.field("date", "date not recorded")[:10]

    def caption(self):
        parts = ["**%s**" % self.cpu, "**%s**" % self.path_words(),
                 self.field("compiler", "compiler not recorded")]
        flags = self.context.get("build_flags")
        if flags:
            parts.append("`%s`" % flags)
        parts.append(self.date)
        commit = self.context.get("ropekit_commit")
        source = "`%s`" % display_path(self.path)
        if commit:
            source += ", ropekit commit %s" % commit
        return ", ".join(parts) + " (%s)" % source

    def models(self):
        return unique(parse(n)["model"] for n in self.names if parse(n))

    def phases(self, model):
        return unique(p["phase"] for p in map(parse, self.names) if p and p["model"] == model)

    def axis(self, model, field, impl="ropekit"):
        return unique(p[field] for p in map(parse, self.names)
                      if p and p["model"] == model and p["impl"] == impl and p.get(field))


def parse(name):
    """impl/model/phase/dtype[/layout/policy] -> dict, or None."""
    parts = name.split("/")
    if len(parts) not in (4, 6) or not re.match(r"^(decode|prefill)\d+$", parts[2]):
        return None
    out = {"impl": parts[0], "model": parts[1], "phase": parts[2], "dtype": parts[3]}
    if len(parts) == 6:
        out["layout"], out["policy"] = parts[4], parts[5]
    return out


def unique(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def display_path(path):
    rel = os.path.relpath(os.path.abspath(path), REPO)
    return path if rel.startswith("..") else rel


def fmt(value, digits=2):
    return DASH if value is None else "%.*f" % (digits, value)


def fmt_rate(value):
    return DASH if value is None else "%.3g" % value


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def rotation(impl, model, phase, dtype, layout, policy="default"):
    return "/".join([impl, model, phase, dtype, layout, policy])


def baseline(impl, model, phase, dtype):
    return "/".join([impl, model, phase, dtype])


def gbps(run, name):
    value = run.value(name, "bytes_per_second")
    return None if value is None else value / 1e9


def pair(a, b, digits=2):
    if a is None and b is None:
        return DASH
    return "%s / %s" % (fmt(a, digits), fmt(b, digits))


# ---------------------------------------------------------------- short tables

def short_table(run):
    ratio = lambda impl, phase, dtype, layout: run.value(
        rotation(impl, SHORT_MODEL, phase, dtype, layout), "roofline_ratio")
    header = ["Llama-3-8B, one thread", "f32 neox", "f32 gptj", "bf16 neox", "bf16 gptj",
              "naive loop f32 (neox / gptj)", "Eigen arrays f32 (neox / gptj)",
              "in-place pass / memcpy, f32 GB/s"]
    rows = []
    for phase in SHORT_PHASES:
        row = [phase]
        for dtype in ("f32", "bf16"):
            row += [fmt(ratio("ropekit", phase, dtype, layout)) for layout in ("neox", "gptj")]
        for impl in ("naive_loop", "eigen_array"):
            row.append(pair(ratio(impl, phase, "f32", "neox"), ratio(impl, phase, "f32", "gptj")))
        row.append(pair(gbps(run, baseline("inplace_pass", SHORT_MODEL, phase, "f32")),
                        gbps(run, baseline("memcpy", SHORT_MODEL, phase, "f32")), 0))
        rows.append(row)
    return "%s:\n\n%s\n" % (run.caption(), table(header, rows))


def short_tables(runs):
    fused = [short_fused_table(run) for run in runs]
    return "\n".join([short_table(run) for run in runs] + [f for f in fused if f])


def update_readme(readme, text):
    with open(readme, encoding="utf-8") as f:
        content = f.read()
    begin, end = content.find(BEGIN_MARK), content.find(END_MARK)
    if begin < 0 or end < begin:
        sys.exit("report.py: %s lacks the markers %s ... %s" % (readme, BEGIN_MARK, END_MARK))
    begin += len(BEGIN_MARK)
    content = content[:begin] + "\n" + text + content[end:]
    with open(readme, "w", encoding="utf-8") as f:
        f.write(content)


# ---------------------------------------------------------------- fused cases

FUSED_OPS = ["kv_append_bf16", "kv_append_fp8", "qk_norm_rope", "k_shift", "retable", "backward"]


def fused_rows(run, phases):
    """(phase, dtype, layout, op, roofline_ratio, speedup_vs_unfused, unfused_bytes_ratio) per case."""
    rows = []
    for name in run.names:
        parts = name.split("/")
        if len(parts) != 6 or parts[0] != "ropekit_fused" or parts[2] not in phases:
            continue
        rows.append((parts[2], parts[3], parts[4], parts[5]) + tuple(
            run.value(name, k) for k in ("roofline_ratio", "speedup_vs_unfused", "unfused_bytes_ratio")))
    order = lambda r: (phases.index(r[0]), FUSED_OPS.index(r[3]) if r[3] in FUSED_OPS else 99, r[1], r[2])
    return sorted(rows, key=order)


def fused_table(run, phases):
    rows = fused_rows(run, phases)
    if not rows:
        return ""
    return table(["phase", "source", "layout", "operation", "roofline_ratio", "speedup_vs_unfused",
                  "unfused_bytes_ratio"],
                 [[ph, d, l, op, fmt(r), fmt(u), fmt(b)] for ph, d, l, op, r, u, b in rows])


def fused_section(run, model):
    if model != SHORT_MODEL:
        return ""
    text = fused_table(run, SHORT_PHASES)
    if not text:
        return ""
    return ("The fused engine step (`ropekit_fused/...`): roofline_ratio against a pass over the "
            "operation's own bytes, `speedup_vs_unfused` against the same work as separate ropekit calls "
            "and copies, and for the KV append the unfused sequence's bytes over the fused call's (the "
            "most fusing can gain at the memory roof):\n\n" + text)


def short_fused_table(run):
    rows = [r for r in fused_rows(run, ["prefill4096"])]
    if not rows:
        return ""
    ops = unique(r[3] for r in rows)
    cells = {(r[1], r[2], r[3]): r for r in rows}
    sources = unique(r[1] for r in rows)
    header = ["prefill 4096, one thread"] + ["%s %s" % (d, l) for d in sources for l in ("neox", "gptj")]
    body = []
    for op in ops:
        row = [op]
        for d in sources:
            for l in ("neox", "gptj"):
                r = cells.get((d, l, op))
                row.append(DASH if r is None else "%s (%s)" % (fmt(r[4]), fmt(r[5])))
        body.append(row)
    return ("Fused engine step, %s, %s: roofline_ratio (speedup_vs_unfused):\n\n%s\n"
            % (run.cpu, run.path_words(), table(header, body)))


# ---------------------------------------------------------------- RESULTS.md

CONTEXT_FIELDS = [
    ("CPU", "cpu_model"), ("CPU signature", "cpu_signature"), ("CPU ISA features", "cpu_isa_features"),
    ("kernel path", None), ("forced", "ropekit_isa_forced"), ("paths available", "ropekit_isas_available"),
    ("dispatch", "ropekit_dispatch"), ("compiler", "compiler"), ("build flags", "build_flags"),
    ("bench unit compiled for", "unit_isa"), ("ropekit commit", "ropekit_commit"), ("date", "date"),
    ("CPUs", "num_cpus"), ("MHz", "mhz_per_cpu"), ("note", "context_note"),
]


def context_section(run):
    rows = []
    for label, key in CONTEXT_FIELDS:
        if key is None:
            rows.append([label, run.isa])
        elif key in run.context:
            rows.append([label, str(run.context[key])])
    caches = run.context.get("caches")
    if caches:
        rows.append(["caches", ", ".join(
            "L%d%s %d KiB" % (c["level"], {"Data": "d", "Instruction": "i"}.get(c["type"], ""),
                              c["size"] // 1024) for c in caches)])
    return table(["", ""], rows)


def ratio_section(run, model):
    dtypes, layouts = run.axis(model, "dtype"), run.axis(model, "layout")
    combos = [(d, l) for d in dtypes for l in layouts]
    peers = [(impl, l) for impl in ("naive_loop", "eigen_array") for l in layouts
             if any(n.startswith(impl + "/" + model + "/") for n in run.names)]
    header = ["phase"] + ["%s %s" % c for c in combos] + ["%s f32 %s" % p for p in peers]
    rows = []
    for phase in run.phases(model):
        row = [phase] + [fmt(run.value(rotation("ropekit", model, phase, d, l), "roofline_ratio"))
                         for d, l in combos]
        row += [fmt(run.value(rotation(i, model, phase, "f32", l), "roofline_ratio")) for i, l in peers]
        rows.append(row)
    out = ["roofline_ratio (1.0 = the in-place pass over the same buffers):", "", table(header, rows)]
    cached = [(d, l) for d, l in combos if any(
        run.value(rotation("ropekit_cached", model, p, d, l), "roofline_ratio") is not None
        for p in run.phases(model))]
    if cached:
        rows = [[phase] + ["%s (%s)" % (
            fmt(run.value(rotation("ropekit_cached", model, phase, d, l), "roofline_ratio")),
            fmt(run.value(rotation("ropekit", model, phase, d, l), "roofline_ratio"))) for d, l in cached]
            for phase in run.phases(model)]
        out += ["", "The rotation alone: `ropekit_cached` (cos/sin read from a `CosSinCache` row), and in "
                "parentheses `ropekit` (cos/sin formed in the call), roofline_ratio:", "",
                table(["phase"] + ["%s %s" % c for c in cached], rows)]
    return "\n".join(out)


def speed_section(run, model):
    dtypes = run.axis(model, "dtype")
    scalar = [d for d in dtypes if any(
        run.value(rotation("ropekit", model, p, d, "neox"), "speedup_vs_scalar") is not None
        for p in run.phases(model))]
    header = (["phase"] + ["%s neox speedup_vs_scalar" % d for d in scalar]
              + ["%s pass / memcpy" % d for d in dtypes]
              + ["f32 pass GB/s", "f32 neox GB/s", "f32 neox tokens/s"])
    rows = []
    for phase in run.phases(model):
        row = [phase] + [fmt(run.value(rotation("ropekit", model, phase, d, "neox"), "speedup_vs_scalar"))
                         for d in scalar]
        for d in dtypes:
            passed, copied = (gbps(run, baseline(i, model, phase, d)) for i in ("inplace_pass", "memcpy"))
            row.append(fmt(passed / copied) if passed and copied else DASH)
        row.append(fmt(gbps(run, baseline("inplace_pass", model, phase, "f32")), 1))
        row.append(fmt(gbps(run, rotation("ropekit", model, phase, "f32", "neox")), 1))
        row.append(fmt_rate(run.value(rotation("ropekit", model, phase, "f32", "neox"), "tokens/s")))
        rows.append(row)
    return ("Speed-up over ropekit's scalar path (alternating rounds), the in-place pass's bytes/s over "
            "memcpy's, the pass's and ropekit's GB/s (q and k read and written), ropekit's tokens/s:\n\n"
            + table(header, rows))


def policy_section(run, model):
    policies = [p for p in run.axis(model, "policy") if p != "default"]
    if not policies:
        return ""
    dtype = "f32"
    phases = [p for p in run.phases(model) if any(
        run.value(rotation("ropekit", model, p, dtype, "neox", pol), "vs_default_policy") is not None
        for pol in policies)]
    rows = []
    for policy in ["default"] + policies:
        row = [policy]
        for phase in phases:
            name = rotation("ropekit", model, phase, dtype, "neox", policy)
            rel = 1.0 if policy == "default" and name in run.cases else run.value(name, "vs_default_policy")
            row.append("%s (%s)" % (fmt(rel, 3), fmt(run.value(name, "roofline_ratio"))))
        rows.append(row)
    return ("Every policy, f32 half-split: `vs_default_policy` (the default policy's time over this "
            "one's, alternating rounds; 1.0 = as fast), in parentheses roofline_ratio:\n\n"
            + table(["policy"] + phases, rows))


def threads_section(run, model):
    names = [n for n in run.names if n.startswith("ropekit_omp")]
    rows = []
    for name in names:
        p = parse(name)
        if not p or p["model"] != model:
            continue
        rows.append(["%s %s %s" % (p["phase"], p["dtype"], p["layout"])]
                    + [fmt(run.value(name, k)) for k in ("speedup_vs_1thread", "pass_speedup_vs_1thread",
                                                          "roofline_ratio_same_threads", "roofline_ratio")])
    if not rows:
        return ""
    impl = parse(names[0])["impl"]
    return ("`%s` (parallel_apply): speed-up over one thread, the same threads' in-place pass over the "
            "one-thread pass, the rotation against that pass, and against the one-thread pass:\n\n" % impl
            + table(["case", "speedup_vs_1thread", "pass_speedup_vs_1thread",
                     "roofline_ratio_same_threads", "roofline_ratio"], rows))


def text_notes():
    """bench/results/*.md: measurements kept as text, copied after the generated sections."""
    folder = os.path.join(REPO, "bench", "results")
    names = sorted(f for f in os.listdir(folder) if f.endswith(".md")) if os.path.isdir(folder) else []
    notes = []
    for name in names:
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            lines = [l for l in f.read().splitlines() if "SPDX-License-Identifier" not in l]
        notes.append((os.path.join("bench", "results", name), "\n".join(lines).strip()))
    return notes


def results_markdown(runs, command, notes):
    files = ", ".join("`%s`" % display_path(r.path) for r in runs)
    if notes:
        files += " (and, copied as text, %s)" % ", ".join("`%s`" % path for path, _ in notes)
    out = ["<!-- SPDX-License-Identifier: Apache-2.0 -->",
           "<!-- Generated by bench/report.py; edit the script, not this file. -->",
           "# ropekit benchmark results", "",
           "Generated by `bench/report.py` from %s. Regenerate with" % files, "",
           "```sh", command, "```", "",
           "Each data set is one run of `bench/rope_bench` (one CPU, one kernel path, one thread unless "
           "the case says otherwise). `roofline_ratio` is the rotation's bytes/s over an in-place pass "
           "(every element loaded, multiplied by 1.0, stored) over the same buffers, on the same kernel "
           "path, measured in alternating rounds within the case; 1.0 is the memory roofline, and a "
           "partial rotary (GPT-NeoX-20B rotates 24 of 96 channels) exceeds it. `neox` is the half-split "
           "layout, `gptj` the interleaved one; decode phases start at position 100,000. See the README's "
           "Benchmarks section for how each counter is measured.", ""]
    for run in runs:
        out += ["## %s, %s, %s" % (run.cpu, run.path_words(), run.date), "", context_section(run), ""]
        for model in run.models():
            out += ["### %s" % MODEL_TITLES.get(model, model), ""]
            for section in (ratio_section, speed_section, policy_section, threads_section, fused_section):
                text = section(run, model)
                if text:
                    out += [text, ""]
    if notes:
        out += ["## Measurements kept as text", ""]
        for path, text in notes:
            out += ["<!-- copied from %s -->" % path, text, ""]
    return "\n".join(out)


# ---------------------------------------------------------------- plot

def plot(runs, path):
    try:
        import matplotlib
    except ImportError:
        sys.exit("report.py: the plot needs matplotlib: apt-get install python3-matplotlib, "
                 "then run this script with /usr/bin/python3")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    colors = ["#1f77b4", "#6baed6", "#2ca02c", "#d62728", "#ff7f0e"]
    groups = [(phase, dtype) for phase in SHORT_PHASES for dtype in PLOT_DTYPES]
    legend_inches = 1.1
    fig, axes = plt.subplots(len(runs), 1, figsize=(14, 4.8 * len(runs) + legend_inches), squeeze=False)
    for ax, run in zip(axes[:, 0], runs):
        top = 1.2
        for g, (phase, dtype) in enumerate(groups):
            # The series with data here, centred on the group (peers exist in f32 only).
            present = [(s, run.value(rotation(impl, SHORT_MODEL, phase, dtype, layout), "roofline_ratio"))
                       for s, (impl, layout, _) in enumerate(PLOT_SERIES)]
            present = [(s, v) for s, v in present if v is not None]
            width = 0.8 / len(PLOT_SERIES)
            for k, (s, v) in enumerate(present):
                x = g + (k - (len(present) - 1) / 2) * width
                ax.bar(x, v, width * 0.92, color=colors[s])
                ax.text(x, v + 0.01, "%.2f" % v, ha="center", va="bottom", fontsize=6.5)
                top = max(top, v * 1.18 + 0.1)
        ax.axhline(1.0, color="black", linestyle="--", linewidth=1)
        for boundary in range(len(PLOT_DTYPES), len(groups), len(PLOT_DTYPES)):
            ax.axvline(boundary - 0.5, color="grey", linewidth=0.6)
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([dtype for _, dtype in groups])
        for p, phase in enumerate(SHORT_PHASES):
            ax.annotate(phase, xy=(p * len(PLOT_DTYPES) + (len(PLOT_DTYPES) - 1) / 2, 0),
                        xycoords=("data", "axes fraction"), xytext=(0, -20), textcoords="offset points",
                        ha="center", va="top", fontsize=11, fontweight="bold")
        ax.set_xlim(-0.5, len(groups) - 0.5)
        ax.set_ylim(0, top)
        ax.set_ylabel("roofline_ratio\n(rotation bytes/s / in-place pass bytes/s)")
        title = "%s, %s, %s, %s" % (run.cpu, run.path_words(), run.field("compiler", "compiler not recorded"),
                                          run.date)
        commit = run.context.get("ropekit_commit")
        if commit:
            title += " (ropekit %s)" % commit
        ax.set_title(title, fontsize=11)
        ax.grid(axis="y", linewidth=0.3)
    handles = [Patch(color=colors[s], label=legend) for s, (_, _, legend) in enumerate(PLOT_SERIES)]
    handles.append(Line2D([], [], color="black", linestyle="--",
                          label="1.0: the in-place pass over the same bytes (memory roofline)"))
    fig.suptitle("ropekit on the Llama-3-8B shape (32 q heads, 8 kv heads, head_dim 128), one thread: "
                 "roofline_ratio by phase and dtype", fontsize=12)
    for ax in axes[:, 0]:  # one scale, so panels compare at a glance
        ax.set_ylim(0, max(a.get_ylim()[1] for a in axes[:, 0]))
    height = fig.get_figheight()
    fig.tight_layout(rect=(0, legend_inches / height, 1, 1 - 0.35 / height), h_pad=3.0)
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=9, frameon=False)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json", nargs="+",
                        help="rope_bench --benchmark_format=json outputs, one per CPU/path")
    parser.add_argument("--readme", help="write the short tables between this file's report.py markers")
    parser.add_argument("--results", default=os.path.join(REPO, "bench", "RESULTS.md"))
    parser.add_argument("--plot", default=os.path.join(REPO, "bench", "roofline.png"))
    args = parser.parse_args()
    runs = [Run(path) for path in args.json]
    given = [display_path(r.path) for r in runs]
    results_dir = os.path.join(REPO, "bench", "results")
    stored = sorted(os.path.join("bench", "results", f) for f in os.listdir(results_dir)
                    if f.endswith(".json")) if os.path.isdir(results_dir) else []
    command = "/usr/bin/python3 bench/report.py --readme README.md " + (
        "bench/results/*.json" if sorted(given) == stored else " ".join(given))
    tables = short_tables(runs)
    print(tables)
    if args.readme:
        update_readme(args.readme, tables)
    with open(args.results, "w", encoding="utf-8") as f:
        f.write(results_markdown(runs, command, text_notes()))
    plot(runs, args.plot)
    print("wrote %s and %s" % (display_path(args.results), display_path(args.plot)), file=sys.stderr)


if __name__ == "__main__":
    main()
