#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Pictures of RoPE's scaling laws, drawn from what ropekit-inspect computes.

  /usr/bin/python3 examples/plot_scaling_laws.py --docs     # the README's pictures

Two kinds of picture:
  - per config: each pair's wavelength 2*pi/inv_freq against the pair index
    (log scale), ropekit's scaled frequencies next to the unscaled ones, with
    the training length, max_position_embeddings, Liu et al.'s critical
    dimension and extrapolation bound T_extra as ropekit-inspect reports them;
  - base vs reachable context (--context FILE): Liu et al.'s extrapolation
    bound as a function of the base (d = 128, pretraining base 1e4, T_train
    4096 and 8192) and Men et al.'s lower bound on the base, both taken from
    `ropekit-inspect --target-len L --json` over a sweep of L.

ropekit-inspect reports the policy's (scaled) inv_freq but not the unscaled
base^(-2j/d); this script computes those from `base` and `rotary_dim`, and says
so in the legend. Every other number is ropekit's.

INPUT is a Hugging Face config.json (run through ropekit-inspect --json) or a
file holding ropekit-inspect --json output. With --layers, a config is read
with `ropekit-inspect --layers --json` (one entry per layer, null for a layer
without RoPE) and every distinct rotation gets a panel; --layer N draws one.

--docs regenerates docs/scaling/*.png for the configs in DOCS_CONFIGS (a
config missing from the checkout is skipped with a note) and rewrites the
image list between the README's plot_scaling_laws.py markers.
Needs Debian's python3-matplotlib (hence /usr/bin/python3).
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS_DIR = os.path.join("docs", "scaling")
# (config, display name, read layer by layer): the README's pictures.
DOCS_CONFIGS = [
    ("tests/data/llama-2-7b.json", "Llama-2-7B", False),
    ("tests/data/codellama-7b.json", "CodeLlama-7B", False),
    ("tests/data/llama-3.1-8b.json", "Llama-3.1-8B", False),
    ("tests/data/gemma-3-4b-it.json", "Gemma 3 4B", True),
]
CONTEXT_PNG = "base-vs-context.png"
BEGIN_MARK = "<!-- plot_scaling_laws.py: pictures begin -->"
END_MARK = "<!-- plot_scaling_laws.py: pictures end -->"
# Liu et al.'s setting for the base-vs-context picture: LLaMA's head, pretrained
# with base 1e4, at two pretraining lengths.
SWEEP_ROTARY_DIM = 128
SWEEP_BASE = 10000
SWEEP_TRAIN_LENGTHS = (4096, 8192)
TWO_PI = 2 * math.pi
PROG = "plot_scaling_laws.py"


def die(message):
    sys.exit("%s: %s" % (PROG, message))


def run_inspect(inspect, args):
    command = [inspect] + [str(a) for a in args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as e:
        die("cannot run %s: %s (build the ropekit-inspect target, pass --inspect)" % (inspect, e))
    if done.returncode != 0:
        hint = ""
        if "--layers" in command and "--layers" in done.stderr:
            hint = " (this ropekit-inspect predates --layers)"
        die("%s: %s%s" % (" ".join(command), done.stderr.strip(), hint))
    return json.loads(done.stdout)


def is_inspect_output(data):
    if not isinstance(data, dict):
        return False
    if "inv_freq" in data:
        return True
    layers = data.get("layers")
    return isinstance(layers, list) and all(e is None or (isinstance(e, dict) and "inv_freq" in e)
                                            for e in layers)


def load_input(path, inspect, layers, seq_len):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        data = None  # ropekit-inspect reads it, or says what is wrong with it
    if is_inspect_output(data):
        return data
    args = [path, "--json"] + (["--layers"] if layers else [])
    return run_inspect(inspect, args + (["--seq-len", seq_len] if seq_len else []))


# ------------------------------------------------------------------ formatting

def fmt_base(x):
    """10000, 5e5, 1e6: how model cards write a base."""
    if x < 1e5:
        return "%g" % x
    mantissa, exponent = ("%.6e" % x).split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return "%se%d" % (mantissa, int(exponent))


def fmt_tokens(x):
    return "{:,.0f}".format(x)


def fmt_length(y):
    """512, 4K, 1M: context lengths as powers of two."""
    if y < 1024:
        return "%d" % y
    return "%dK" % (y / 1024) if y < 1024 ** 2 else "%dM" % (y / 1024 ** 2)


def fmt_layers(indices):
    """[0,1,2,4] -> '0-2, 4'."""
    runs, start = [], None
    for k, i in enumerate(indices):
        if start is None:
            start = i
        if k + 1 == len(indices) or indices[k + 1] != i + 1:
            runs.append(str(start) if start == i else "%d-%d" % (start, i))
            start = None
    return ", ".join(runs)


# ------------------------------------------------------------ what gets drawn

def rotations(data, layer, name):
    """The distinct rotations to draw: (panel title, description) pairs.

    A plain ropekit-inspect object is one rotation. A --layers object gives one
    per distinct rotation; each layer entry is completed from the `ropes` entry
    it points to and from the top level, for keys the layer does not repeat
    (base, train_length, critical_dimension, ...)."""
    if "layers" not in data or "inv_freq" in data:
        if layer is not None:
            die("%s: --layer needs ropekit-inspect --layers output" % name)
        return [("", data)]
    entries = data["layers"]
    ropes = data.get("ropes") or []
    top = {k: v for k, v in data.items() if k not in ("layers", "ropes")}

    def complete(entry):
        merged = dict(top)
        k = entry.get("rope")
        if isinstance(k, int) and 0 <= k < len(ropes) and isinstance(ropes[k], dict):
            merged.update(ropes[k])
        merged.update(entry)
        return merged

    if layer is not None:
        if not 0 <= layer < len(entries):
            die("%s: --layer %d: the model has layers 0..%d" % (name, layer, len(entries) - 1))
        if entries[layer] is None:
            die("%s: --layer %d has no RoPE" % (name, layer))
        entry = complete(entries[layer])
        return [("layer %d%s" % (layer, layer_type_note(entry)), entry)]
    groups = {}
    for i, entry in enumerate(entries):
        if entry is None:
            continue
        key = json.dumps({k: entry.get(k) for k in ("rope", "rope_type", "policy", "rotary_dim", "layout",
                                                     "base", "inv_freq", "attention_factor")}, sort_keys=True)
        groups.setdefault(key, []).append(i)
    if not groups:
        die("%s: no layer has RoPE" % name)
    out = []
    for indices in groups.values():
        entry = complete(entries[indices[0]])
        word = "layer" if len(indices) == 1 else "layers"
        out.append(("%s %s%s" % (word, fmt_layers(indices), layer_type_note(entry)), entry))
    return out


def layer_type_note(entry):
    kind = entry.get("layer_type")
    return " (%s)" % kind if isinstance(kind, str) and kind else ""


def policy_words(r):
    words = r.get("policy") or r.get("rope_type") or "?"
    details = r.get("policy_details") or {}
    factor = details.get("factor", r.get("factor"))
    if isinstance(factor, (int, float)):
        words += ", factor %g" % factor
    if isinstance(details.get("factors_at_seq_len"), str):
        words += ", %s" % details["factors_at_seq_len"]
    if r.get("seq_len"):
        words += " at seq_len %d" % r["seq_len"]
    attention = r.get("attention_factor")
    if isinstance(attention, (int, float)) and attention != 1:
        words += ", attention_factor %.4g" % attention
    return words


def unscaled_wavelengths(r):
    """2*pi * base^(2j/d): not in ropekit-inspect's output, so computed here."""
    base, d = r.get("base"), r.get("rotary_dim")
    if not isinstance(base, (int, float)) or not isinstance(d, int) or base <= 1:
        return None
    return [TWO_PI * base ** (2.0 * j / d) for j in range(d // 2)]


def draw_wavelengths(ax, r):
    """One panel; returns the facts it drew, for the summary line."""
    inv = r["inv_freq"]
    pairs = len(inv)
    reported = r.get("wavelength")
    scaled = [(w if w is not None else math.nan) for w in reported] if reported else \
        [TWO_PI / w if w > 0 else math.nan for w in inv]
    if all(math.isnan(w) for w in scaled):
        die("no pair rotates (every inv_freq is 0): nothing to draw")
    unscaled = unscaled_wavelengths(r)
    j = list(range(pairs))
    facts = {"pairs": pairs}
    same = unscaled is not None and len(unscaled) == pairs and all(
        abs(a - b) <= 1e-12 * b for a, b in zip(scaled, unscaled) if not math.isnan(a))
    if unscaled is not None and len(unscaled) == pairs and not same:
        ax.plot(j, unscaled, color="0.45", linestyle="--", linewidth=1.4, marker=".", markersize=4,
                label="unscaled 2\u03c0\u00b7base^(2j/d), base %s (computed by this script)"
                      % fmt_base(r["base"]))
    label = "ropekit inv_freq: %s" % policy_words(r)
    if same:
        label += " (= unscaled, base %s)" % fmt_base(r["base"])
    ax.plot(j, scaled, color="#1f77b4", linewidth=2, marker="o", markersize=3, label=label)
    facts["scaled"] = "unknown" if unscaled is None else not same
    missing = [k for k in ("base", "train_length", "critical_dimension") if k not in r]
    if missing:
        ax.plot([], [], " ", label="not in the input: %s (so not drawn)" % ", ".join(missing))
        facts["missing"] = "/".join(missing)

    top = max(w for w in scaled if not math.isnan(w))
    if unscaled is not None:
        top = max(top, max(unscaled))
    train = r.get("train_length")
    if isinstance(train, (int, float)):
        source = "original_max_position_embeddings" if r.get("original_max_position_embeddings") \
            else "max_position_embeddings"
        ax.axhline(train, color="#2ca02c", linewidth=1.6,
                   label="T_train = %s (%s)" % (fmt_tokens(train), source))
        facts["T_train"] = train
        top = max(top, train)
    max_pos = r.get("max_position_embeddings")
    if isinstance(max_pos, (int, float)) and max_pos != train:
        ax.axhline(max_pos, color="#9467bd", linestyle=":", linewidth=1.6,
                   label="max_position_embeddings = %s" % fmt_tokens(max_pos))
        top = max(top, max_pos)
    bound = r.get("extrapolation_bound")
    law = r.get("scaling_law") or {}
    if isinstance(bound, (int, float)):
        ax.axhline(bound, color="#d62728", linestyle="--", linewidth=1.4,
                   label="T_extra = 2\u03c0\u00b7base^(d_extra/d) = %s (Liu et al.)" % fmt_tokens(bound))
        facts["T_extra"] = bound
        top = max(top, bound)
    elif law.get("extrapolation_bound_infinite"):
        ax.plot([], [], " ", label="T_extra: none, every pair completes a period in T_train")
        facts["T_extra"] = "inf"
    crit = r.get("critical_dimension")
    if isinstance(crit, int):
        first = crit // 2
        ax.axvspan(-0.5, min(first, pairs) - 0.5, color="#2ca02c", alpha=0.08,
                   label="pairs 0-%d: unscaled wavelength \u2264 T_train (a full period seen in training)"
                         % (min(first, pairs) - 1))
        if first < pairs:
            ax.axvline(first, color="#ff7f0e", linewidth=1.6,
                       label="critical dimension d_extra = %d: pair %d onward never does" % (crit, first))
        facts["d_extra"] = crit
    elif "unavailable" in law:
        ax.plot([], [], " ", label="no critical dimension: %s" % law["unavailable"][:60])
    ax.set_yscale("log")
    ax.set_xlim(-0.5, pairs - 0.5)
    facts["_ylim"] = (min(w for w in scaled if not math.isnan(w)) / 1.6, top * 4)
    ax.set_xlabel("pair index j (channels j and j + d/2 in half-split, 2j and 2j+1 interleaved)")
    ax.set_ylabel("wavelength 2\u03c0 / inv_freq (tokens)")
    ax.grid(which="major", linewidth=0.4)
    ax.grid(which="minor", axis="y", linewidth=0.15)
    ax.legend(loc="upper left", fontsize=7.5, framealpha=0.92)
    return facts


def plot_config(plt, data, name, layer, path):
    panels = rotations(data, layer, name)
    width = 8.6 if len(panels) == 1 else 6.8 * len(panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(width, 5.8), squeeze=False, sharey=True)
    lines, limits = [], []
    first = panels[0][1]
    for ax, (title, r) in zip(axes[0], panels):
        facts = draw_wavelengths(ax, r)
        limits.append(facts.pop("_ylim"))
        shape = "%s, base %s, rotary_dim %d (%d pairs), %s" % (
            policy_words(r),
            fmt_base(r["base"]) if isinstance(r.get("base"), (int, float)) else "not reported",
            r.get("rotary_dim", 2 * facts["pairs"]), facts["pairs"], r.get("layout", "?"))
        ax.set_title((title + "\n" if title else "") + shape, fontsize=9.5)
        lines.append("%s%s: %s" % (title + " " if title else "", r.get("policy", r.get("rope_type")),
                                   ", ".join("%s %s" % (k, "%.6g" % v if isinstance(v, float) else v)
                                             for k, v in facts.items())))
    axes[0][0].set_ylim(min(low for low, _ in limits), max(high for _, high in limits))  # shared
    for ax in axes[0][1:]:
        ax.tick_params(labelleft=True)
    source = first.get("source") or data.get("source") or name
    title = "%s: RoPE wavelength of each pair, from ropekit-inspect %s" % (name, os.path.basename(source))
    without = [i for i, e in enumerate(data.get("layers") or []) if e is None]
    if without and layer is None:
        title += " (no RoPE in layer%s %s)" % ("s" if len(without) > 1 else "", fmt_layers(without))
    fig.suptitle(title, fontsize=11.5)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    for line in lines:
        print("%s: %s" % (path, line))


# ------------------------------------------------------ base vs reachable context

def sweep_targets(low, high, steps_per_octave):
    targets, k = [], math.ceil(math.log2(low) * steps_per_octave)
    while 2 ** (k / steps_per_octave) <= high * (1 + 1e-12):
        targets.append(int(round(2 ** (k / steps_per_octave))))
        k += 1
    return targets


def context_sweep(inspect, max_context):
    """ropekit-inspect --target-len over a sweep, for LLaMA-shaped configs
    (d = 128, base 1e4) written here, one per pretraining length."""
    out = {"liu": {}, "men": []}
    with tempfile.TemporaryDirectory() as tmp:
        for train in SWEEP_TRAIN_LENGTHS:
            config = os.path.join(tmp, "llama-base1e4-%d.json" % train)
            with open(config, "w", encoding="utf-8") as f:
                json.dump({"model_type": "llama", "hidden_size": 32 * SWEEP_ROTARY_DIM,
                           "num_attention_heads": 32, "max_position_embeddings": train,
                           "rope_theta": SWEEP_BASE}, f)
            plain = run_inspect(inspect, [config, "--json"])
            curve = {"d_extra": plain["critical_dimension"], "discrete": [], "continuous": []}
            if isinstance(plain["extrapolation_bound"], (int, float)):
                curve["discrete"].append((float(SWEEP_BASE), plain["extrapolation_bound"]))
            # Men's bound does not depend on T_train: sweep it finely once.
            first = train == SWEEP_TRAIN_LENGTHS[0]
            targets = sweep_targets(1024 if first else train, max_context, 4 if first else 2)
            for target in targets:
                t = run_inspect(inspect, [config, "--json", "--target-len", target])["target"]
                for form, key in (("discrete", "liu_base_discrete"), ("continuous", "liu_base")):
                    if isinstance(t.get(key), (int, float)) and t[key] > SWEEP_BASE and target >= train:
                        curve[form].append((t[key], target))
                if first and isinstance(t.get("men_min_base"), (int, float)):
                    out["men"].append((t["men_min_base"], target))
            out["liu"][train] = curve
    return out


def plot_context(plt, sweep, models, path):
    from matplotlib.ticker import FuncFormatter
    fig, ax = plt.subplots(figsize=(9.2, 6.2))
    colors = {4096: "#1f77b4", 8192: "#ff7f0e"}
    dashed_labelled = False
    for train, curve in sweep["liu"].items():
        color = colors.get(train, "0.3")
        for form, style in (("discrete", "-"), ("continuous", "--")):
            points = sorted(curve[form])
            if not points:
                continue
            if form == "discrete":
                label = "Liu et al. T_extra = 2\u03c0\u00b7\u03b2^(d_extra/d), T_train %s, d_extra %d" % (
                    fmt_tokens(train), curve["d_extra"])
            else:
                label = "_" if dashed_labelled else \
                    "dashed: continuous exponent, the conservative form (--target-len's liu_base)"
                dashed_labelled = True
            ax.plot([p[0] for p in points], [p[1] for p in points], style, color=color,
                    linewidth=2 if form == "discrete" else 1.2, label=label)
    men = sorted(sweep["men"], key=lambda p: p[1])
    if men:
        ax.plot([p[0] for p in men], [p[1] for p in men], "-", color="#d62728", linewidth=2,
                marker="o", markersize=3,
                label="Men et al. lower bound: smallest base on ropekit's grid with B(m) \u2265 0 "
                      "for all m \u2264 L")
    # Markers with legend entries rather than text beside them: text would cross the lines.
    for model, marker in zip(models, "sD^vpho"):
        base, train, max_pos = model["base"], model["train_length"], model.get("max_position_embeddings")
        ax.plot([base], [train], marker, color="k", markersize=7, linestyle="none",
                label="%s: base %s, T_train %s" % (model["name"], fmt_base(base), fmt_tokens(train)))
        if isinstance(max_pos, (int, float)) and max_pos > train:
            ax.plot([base, base], [train, max_pos], color="k", linewidth=0.8, linestyle=":")
            ax.plot([base], [max_pos], marker, color="k", markersize=7, markerfacecolor="white",
                    linestyle="none", label="%s: max_position_embeddings %s (%s)" % (
                        model["name"], fmt_tokens(max_pos), model["policy"]))
    ax.set_xscale("log")
    ax.set_yscale("log", base=2)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: fmt_length(y)))
    ax.set_ylim(512, 2.5 * max([p[1] for p in men] + [4096]))
    ax.set_xlabel("RoPE base (rope_theta, or the fine-tuned base \u03b2)")
    ax.set_ylabel("context length L (tokens)")
    ax.set_title("Base vs reachable context, d = %d, pretraining base %s: ropekit-inspect --target-len\n"
                 "(Liu: fine-tuned with base \u03b2, reaches L below the line; Men: needs a base right "
                 "of the line)" % (SWEEP_ROTARY_DIM, fmt_base(SWEEP_BASE)), fontsize=10.5)
    ax.grid(which="major", linewidth=0.4)
    ax.grid(which="minor", linewidth=0.15)
    ax.legend(loc="lower right", fontsize=7.5, framealpha=0.92)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    for train, curve in sweep["liu"].items():
        print("%s: Liu T_train %d: d_extra %d, %d points"
              % (path, train, curve["d_extra"], len(curve["discrete"])))
    # Powers of two only: the README's table of Men et al.'s bounds has those.
    print("%s: Men: %s" % (path, ", ".join("L %d base %.6g" % (l, b) for b, l in men if l & (l - 1) == 0)))


def context_models(data_by_name):
    """The configs that share the sweep's rotary width, as markers."""
    models = []
    for name, data in data_by_name:
        if "inv_freq" in data and data.get("rotary_dim") == SWEEP_ROTARY_DIM and \
                isinstance(data.get("train_length"), (int, float)):
            models.append({"name": name, "base": data["base"], "train_length": data["train_length"],
                           "max_position_embeddings": data.get("max_position_embeddings"),
                           "policy": policy_words(data)})
    return models


# --------------------------------------------------------------------- README

def update_readme(readme, images):
    with open(readme, encoding="utf-8") as f:
        content = f.read()
    begin, end = content.find(BEGIN_MARK), content.find(END_MARK)
    if begin < 0 or end < begin:
        die("%s lacks the markers %s ... %s" % (readme, BEGIN_MARK, END_MARK))
    block = "\n\n".join("![%s](%s)" % (alt, path) for alt, path in images)
    begin += len(BEGIN_MARK)
    with open(readme, "w", encoding="utf-8") as f:
        f.write(content[:begin] + "\n" + block + "\n" + content[end:])


def find_inspect(given):
    given = given or os.environ.get("ROPEKIT_INSPECT")
    if given:  # a path stays valid after --docs changes directory
        return os.path.abspath(given) if os.sep in given else given
    built = os.path.join(REPO, "build", "examples-release", "examples", "ropekit-inspect")
    if os.path.exists(built):
        return built
    return shutil.which("ropekit-inspect") or die(
        "no ropekit-inspect: pass --inspect, set ROPEKIT_INSPECT, or run sh examples/run.sh")


def stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="config.json, or a file of ropekit-inspect --json output")
    parser.add_argument("--inspect", help="the ropekit-inspect binary (default: $ROPEKIT_INSPECT, "
                        "build/examples-release/examples/ropekit-inspect, then PATH)")
    parser.add_argument("--out", default=".", help="folder for the per-config pictures (INPUT's name .png)")
    parser.add_argument("--name", action="append", default=[], help="title for each INPUT, in order")
    parser.add_argument("--layers", action="store_true", help="read configs with ropekit-inspect --layers")
    parser.add_argument("--layer", type=int, help="draw only this layer (implies --layers)")
    parser.add_argument("--seq-len", type=int, help="passed to ropekit-inspect (dynamic NTK, LongRoPE)")
    parser.add_argument("--context", metavar="PNG", help="also draw base vs reachable context to PNG")
    parser.add_argument("--max-context", type=int, default=1 << 20,
                        help="longest L of the context sweep (default 1048576)")
    parser.add_argument("--docs", action="store_true",
                        help="regenerate docs/scaling/*.png and the README's picture list")
    args = parser.parse_args()
    if args.docs and (args.inputs or args.name or args.layers or args.layer is not None or args.seq_len
                      or args.context or args.out != "."):
        die("--docs takes no INPUT, --name, --layers, --layer, --seq-len, --context or --out")
    if not args.docs and not args.inputs and not args.context:
        die("no INPUT given (or --context, or --docs)")
    if len(args.name) > len(args.inputs):
        die("more --name than INPUTs")
    if args.max_context < 4096:
        die("--max-context %d: must be at least 4096" % args.max_context)
    try:
        import matplotlib
    except ImportError:
        die("needs matplotlib: apt-get install python3-matplotlib, then run with /usr/bin/python3")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    inspect = find_inspect(args.inspect)
    if args.docs:
        os.chdir(REPO)  # so that titles and README links carry repository paths
        jobs = []
        for config, name, layers in DOCS_CONFIGS:
            if os.path.exists(config):
                jobs.append((config, name, layers, os.path.join(DOCS_DIR, stem(config) + ".png")))
            else:
                print("%s: skipped %s: not in this checkout" % (PROG, config), file=sys.stderr)
        context_png = os.path.join(DOCS_DIR, CONTEXT_PNG)
    else:
        jobs = []
        for k, path in enumerate(args.inputs):
            name = args.name[k] if k < len(args.name) else stem(path)
            suffix = "-layer%d" % args.layer if args.layer is not None else ""
            jobs.append((path, name, args.layers or args.layer is not None,
                         os.path.join(args.out, stem(path) + suffix + ".png")))
        context_png = args.context
    print("%s: using %s" % (PROG, inspect), file=sys.stderr)
    for path in {os.path.dirname(job[3]) for job in jobs} | {os.path.dirname(context_png or "")}:
        if path:
            os.makedirs(path, exist_ok=True)

    loaded, images = [], []
    for path, name, layers, png in jobs:
        data = load_input(path, inspect, layers, args.seq_len)
        plot_config(plt, data, name, args.layer, png)
        loaded.append((name, data))
        images.append(("%s: RoPE wavelength of each pair, with T_train, the critical dimension and "
                       "T_extra" % name, png))
    if context_png:
        plot_context(plt, context_sweep(inspect, args.max_context), context_models(loaded), context_png)
        images.append(("Base vs reachable context: Liu et al.'s extrapolation bound and Men et al.'s "
                       "lower bound, from ropekit-inspect --target-len", context_png))
    if args.docs:
        update_readme("README.md", images)
        print("%s: README.md picture list updated" % PROG, file=sys.stderr)


if __name__ == "__main__":
    main()
