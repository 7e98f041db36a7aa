"""The table of an ablation grid: validation loss per variant and Δ vs a baseline, mean ± 95% CI over seeds.

    python benchmarks/ablate_report.py benchmarks/runs/grid/results.json --baseline tuned
    python benchmarks/ablate_report.py benchmarks/runs/grid/results.json --curves classic tuned modern \\
        --plot curves.png

Δ is paired by seed (same seed = same training batches, same evaluation windows, and runs of one seed ran at
about the same time), with a Student-t interval over the seeds (`aigc_book.recipes.ablation_table`).
`--curves` prints the mean validation loss at fixed training times (the curves interpolated per run, then
averaged over seeds) as a table for a README, and `--plot` draws them.
"""
from __future__ import annotations
import argparse, json, math, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from aigc_book.cases.augment import paired_diff_ci, fmt_ci
from aigc_book.recipes import ablation_table, mean_curve


def by_variant(results) -> dict:
    "variant -> {seed: run}, budget runs (`classic-2000it`) included."
    out = {}
    for r in results.get("budget_runs", []) + results["runs"]:
        out.setdefault(r["variant"], {})[r["seed"]] = r
    return out


def table(results, baseline, reference=None) -> str:
    "Markdown table: variant, seeds, steps, tokens/s, validation loss, Δ vs `baseline` (and `reference`)."
    runs = results.get("budget_runs", []) + results["runs"]
    try:
        t = ablation_table(runs, baseline, reference)
    except ValueError as e:
        raise SystemExit(f"--baseline/--reference: {e}")
    speed = {n: sum(r["tokens_per_s"] for r in rs.values()) / len(rs) for n, rs in by_variant(results).items()}
    cols = ["variant", "seeds", "steps", "tokens/s", "val loss", f"Δ vs {baseline}"]
    cols += [f"Δ vs {reference}"] if reference else []
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    delta = lambda d, h: "—" if d == 0 and h == 0 else "n/a" if math.isnan(d) else f"{d:+.3f} ± {h:.3f}"
    for name, r in t.sort_values("d_vs_baseline", na_position="last").iterrows():
        loss = f"{r.val_loss:.3f} (1 seed)" if r.seeds < 2 else fmt_ci(r.val_loss, r.ci)
        row = [name, str(int(r.seeds)), f"{r.steps:.0f}", f"{speed[name]:,.0f}", loss,
               delta(r.d_vs_baseline, r.ci_vs_baseline)]
        if reference:
            row.append(delta(r.d_vs_reference, r.ci_vs_reference))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def curve_table(results, names, step) -> str:
    "Mean validation loss (curve windows) at every `step` seconds of training, one column per variant."
    import numpy as np
    runs = by_variant(results)
    missing = [n for n in names if n not in runs]
    if missing:
        raise SystemExit(f"--curves: unknown variants {missing}; known: {list(runs)}")
    end = min(r["curve"][-1]["seconds"] for n in names for r in runs[n].values())   # where every curve has data
    times = np.arange(0.0, end + 1e-9, step)
    if end - times[-1] > 1e-6:
        times = np.append(times, end)                         # the last row at the end of the budget
    curves = {n: mean_curve(list(runs[n].values()), times) for n in names}
    lines = ["| training seconds | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
    for i, t in enumerate(times):
        lines.append(f"| {t:.0f} | " + " | ".join("—" if math.isnan(curves[n][i]) else f"{curves[n][i]:.3f}"
                                                 for n in names) + " |")
    return "\n".join(lines)


def plot(results, names, path):
    "Validation loss vs training seconds: every run thin, the mean over seeds thick."
    import numpy as np
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    runs = by_variant(results)
    fig, ax = plt.subplots(figsize=(7, 4))
    end = max(p["seconds"] for n in names for r in runs[n].values() for p in r["curve"])
    times = np.linspace(0, end, 200)
    for n in names:
        line, = ax.plot(times, mean_curve(list(runs[n].values()), times), lw=2, label=n)
        for r in runs[n].values():
            pts = [(p["seconds"], p["val_loss"]) for p in r["curve"] if not p.get("final")]
            ax.plot(*zip(*pts), lw=0.5, alpha=0.4, color=line.get_color())
    ax.set_xlabel("training seconds (2 cores)")
    ax.set_ylabel("validation loss (nats/char)")
    ax.set_ylim(top=2.6)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("results", help="results.json written by benchmarks/ablate.py")
    ap.add_argument("--baseline", default="tuned", help="the variant every Δ is measured against")
    ap.add_argument("--reference", default="classic", help="a second Δ column (empty: none)")
    ap.add_argument("--curves", nargs="+", default=None, help="variants for the loss-vs-seconds table / plot")
    ap.add_argument("--curve-step", type=float, default=10.0, help="seconds between rows of the curve table")
    ap.add_argument("--plot", default=None, help="PNG path for the curves")
    ap.add_argument("--goal", type=float, default=0.05, help="the improvement over the baseline to reach")
    ap.add_argument("--recipe", default="modern", help="the variant checked against --goal")
    a = ap.parse_args(argv)
    results = json.loads(Path(a.results).read_text())
    mode = results.get("budget_mode", "seconds")
    print(f"time budget {results['time_budget']:.1f} s per run ({mode}); {len(results['runs'])} runs; "
          f"{results['jobs']} jobs x {results['cores_per_job']} cores on {results['cpus']} CPUs; "
          f"{results['minutes']:.1f} min\n")
    print(table(results, a.baseline, a.reference or None))
    runs = by_variant(results)
    if a.recipe in runs and a.baseline in runs:
        common = sorted(set(runs[a.recipe]) & set(runs[a.baseline]))
        if len(common) >= 2:
            d, h = paired_diff_ci([runs[a.recipe][s]["val_loss"] for s in common],
                                  [runs[a.baseline][s]["val_loss"] for s in common])
            verdict = "met" if d + h <= -a.goal else "not met" if d - h > -a.goal else "undecided"
            print(f"\ngoal: {a.recipe} beats {a.baseline} by >= {a.goal}: Δ = {d:+.3f} ± {h:.3f}, {verdict}")
    if a.curves:
        print()
        print(curve_table(results, a.curves, a.curve_step))
        if a.plot:
            plot(results, a.curves, a.plot)


if __name__ == "__main__":
    main()
