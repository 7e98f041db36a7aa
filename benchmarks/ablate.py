"""Run a grid of `benchmarks/gpt_char.py` recipes at equal training time, over seeds, in parallel processes.

Every (variant, seed) runs as its own process pinned to its own pair of cores (`taskset -c 2i,2i+1`,
OMP_NUM_THREADS=2, `--threads 2`) with `--time-budget SECONDS`. Each run writes one JSON (final validation
loss on the fixed 64-character windows, steps, tokens/s, the loss-vs-seconds curve); they are merged into
`OUT/results.json`, which `benchmarks/ablate_report.py` turns into the table (Δ validation loss vs a baseline,
mean ± 95% CI over seeds).

    python benchmarks/ablate.py --data shared/data/tinyshakespeare.txt --grid full --seeds 0 1 2 3 4 \\
        --jobs 8 --time-budget auto --out benchmarks/runs/grid
    python benchmarks/ablate.py --data shared/data/tinyshakespeare.txt --grid cpu --seeds 0 1 2 \\
        --jobs 2 --cores-per-job 1 --time-budget costs --out benchmarks/runs/grid-cpu
    python benchmarks/ablate_report.py benchmarks/runs/grid/results.json --baseline tuned

Two ways to make the budget equal. `--time-budget costs` (for a shared or small machine, e.g. 2 cores): first measure
every variant's training-step time in one process on `--calib-threads` threads, the variants interleaved round by
round so that any load on the machine hits them all alike (median over rounds), then give each variant the number
of iterations that fits the classic configuration's 2,000 iterations of time: iters = 2000 * cost(classic) /
cost(variant), warm-up the same fraction. The runs themselves then count steps, not seconds, so they may run
on one thread each, side by side with other work, and their losses do not depend on the load; their curves
are put on the time axis with the measured step costs. The costs land in `OUT/step_costs.json`.

`--time-budget auto` (a quiet machine with cores to spare) first trains the classic small-cpu configuration for
its 2,000 iterations, one run per job slot at once (seeds 0, 1, ...: the same load as the grid itself), and takes
the median training time as the budget; those runs are kept as the variant `classic-2000it`. A number is a
budget in seconds. Runs whose JSON already exists are not run again (resume after an interruption); `--force`
reruns them. `--list` prints the grid.
"""
from __future__ import annotations
import argparse, json, os, shutil, statistics, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH = ROOT / "benchmarks" / "gpt_char.py"
TUNED = ["lr=3e-3"]                 # the classic configuration, learning rate tuned: the baseline to beat


def variant(*overrides, config="small-cpu", set_=()):
    "One grid entry: a config of gpt_char.py and `--set` overrides."
    return {"config": config, "set": list(overrides) + list(set_)}


GRIDS = {
    # the chapter's grid: classic, tuned classic, each change alone on top of the tuned classic, the
    # combined recipe, and width / depth / batch / context at the same time budget
    "full": {
        "classic": variant(),
        "tuned": variant(*TUNED),
        "classic-lr6e-3": variant("lr=6e-3"),
        "rmsnorm": variant(*TUNED, "norm=rms"),
        "rope": variant(*TUNED, "pos=rope"),
        "swiglu": variant(*TUNED, "mlp=swiglu"),
        "relu2": variant(*TUNED, "mlp=relu2"),
        "qk-norm": variant(*TUNED, "qk_norm=true"),
        "untied": variant(*TUNED, "tie_weights=false"),
        "wsd": variant(*TUNED, "schedule=wsd"),
        "muon": variant(*TUNED, "optimizer=muon"),
        "width-96": variant(*TUNED, "n_embd=96"),
        "width-192": variant(*TUNED, "n_embd=192"),
        "depth-2": variant(*TUNED, "n_layer=2"),
        "depth-6": variant(*TUNED, "n_layer=6"),
        "batch-6": variant(*TUNED, "batch_size=6"),
        "batch-24": variant(*TUNED, "batch_size=24"),
        "block-128": variant(*TUNED, "block_size=128", "batch_size=6"),
        "modern": variant(config="modern-cpu"),
    },
    # candidates for the combined recipe (run after `full` into the same --out: finished runs and the measured
    # budget are reused, and results.json then holds both grids)
    "combos": {
        "classic": variant(),
        "tuned": variant(*TUNED),
        "depth-3": variant(*TUNED, "n_layer=3"),
        "muon-depth-2": variant(*TUNED, "optimizer=muon", "n_layer=2"),
        "muon-depth-3": variant(*TUNED, "optimizer=muon", "n_layer=3"),
        "muon-depth-2-width-192": variant(*TUNED, "optimizer=muon", "n_layer=2", "n_embd=192"),
        "muon-depth-2-batch-24": variant(*TUNED, "optimizer=muon", "n_layer=2", "batch_size=24"),
        "muon-depth-2-lr0.01": variant(*TUNED, "optimizer=muon", "n_layer=2", "muon_lr=0.01"),
        "muon-depth-2-lr0.04": variant(*TUNED, "optimizer=muon", "n_layer=2", "muon_lr=0.04"),
        "muon-depth-2-rope-swiglu": variant(*TUNED, "optimizer=muon", "n_layer=2", "pos=rope", "mlp=swiglu"),
        "muon-depth-2-wsd": variant(*TUNED, "optimizer=muon", "n_layer=2", "schedule=wsd"),
    },
    # the grid that fits a 2-core machine in about an hour per seed triple (--time-budget costs): each change
    # alone on top of the tuned classic, width / depth / batch, and three candidates for the combined recipe
    "cpu": {
        "classic": variant(),
        "tuned": variant(*TUNED),
        "modern": variant(config="modern-cpu"),
        "muon": variant(*TUNED, "optimizer=muon"),
        "depth-2": variant(*TUNED, "n_layer=2"),
        "rmsnorm": variant(*TUNED, "norm=rms"),
        "rope": variant(*TUNED, "pos=rope"),
        "swiglu": variant(*TUNED, "mlp=swiglu"),
        "qk-norm": variant(*TUNED, "qk_norm=true"),
        "untied": variant(*TUNED, "tie_weights=false"),
        "wsd": variant(*TUNED, "schedule=wsd"),
        "width-96": variant(*TUNED, "n_embd=96"),
        "batch-24": variant(*TUNED, "batch_size=24"),
        "muon-depth-3": variant(*TUNED, "optimizer=muon", "n_layer=3"),
        "modern-rope-swiglu": variant(config="modern-cpu", set_=("pos=rope", "mlp=swiglu")),
    },
    # a quick check of the machinery: two variants, seconds each
    "smoke": {
        "classic": variant(),
        "modern": variant(config="modern-cpu"),
    },
}


def load_variants(a) -> dict:
    "The grid to run: built-in `--grid`, or a JSON file `{name: {config, set}}`, filtered by `--only`."
    if a.variants:
        grid = json.loads(Path(a.variants).read_text())
        for name, v in grid.items():
            if not isinstance(v, dict) or not isinstance(v.get("set", []), list):
                raise SystemExit(f"{a.variants}: variant {name!r} must be {{'config': ..., 'set': [...]}}")
            v.setdefault("config", "small-cpu")
            v.setdefault("set", [])
    else:
        grid = GRIDS[a.grid]
    if a.only:
        missing = [n for n in a.only if n not in grid]
        if missing:
            raise SystemExit(f"--only: unknown variants {missing}; the grid has {list(grid)}")
        grid = {n: grid[n] for n in a.only}
    return grid


def slots(jobs, cores_per_job, first_core):
    "The cores of every job slot, checked against the cores this process may use."
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    first = [first_core + i * cores_per_job for i in range(jobs)]
    out = [list(range(f, f + cores_per_job)) for f in first]
    missing = sorted({c for s in out for c in s} - allowed)
    if missing:
        raise SystemExit(f"--jobs {jobs} x --cores-per-job {cores_per_job} needs cores {missing}, which this "
                         f"machine does not give us (allowed: {sorted(allowed)}); use fewer jobs")
    return out


def command(a, v, seed, json_path, cores, budget):
    "The gpt_char.py command line for one run, pinned to `cores`; `budget`: seconds, or {'iters', 'warmup'}."
    cmd = [a.python, str(BENCH), "--data", str(a.data), "--config", v["config"], "--seed", str(seed),
           "--threads", str(len(cores)), "--json", str(json_path), "--curve-every", str(a.curve_every),
           "--skip-reference", "--skip-generation", "--quiet"]
    for s in v["set"]:
        cmd += ["--set", s]
    if isinstance(budget, dict):
        cmd += ["--iters", str(budget["iters"]), "--set", f"warmup={budget['warmup']}"]
    elif budget is not None:
        cmd += ["--time-budget", f"{budget:.3f}"]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", ",".join(map(str, cores))] + cmd
    return cmd


def run_all(a, runs, budget, slot_cores):
    "Run `runs` [(name, variant, seed)] with one process per slot; return the list of result dicts."
    out_dir = Path(a.out) / "runs"
    out_dir.mkdir(parents=True, exist_ok=True)
    todo, results, running = [], [], {}
    for name, v, seed in runs:
        path = out_dir / f"{name}__seed{seed}.json"
        if path.exists() and not a.force:
            results.append(_tag(json.loads(path.read_text()), name, v))
        else:
            todo.append((name, v, seed, path))
    if len(results):
        print(f"{len(results)} runs already done (kept; --force reruns them)", flush=True)
    free = list(range(len(slot_cores)))
    done, total, t_start = 0, len(todo), time.time()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    while todo or running:
        while todo and free:
            name, v, seed, path = todo.pop(0)
            slot = free.pop(0)
            cores = slot_cores[slot]
            cmd = command(a, v, seed, path, cores, budget(name) if callable(budget) else budget)
            threads = str(len(cores))
            job_env = {**env, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
            log = open(path.with_suffix(".log"), "w")
            log.write(" ".join(cmd) + "\n")
            log.flush()
            pin = None if cmd[0] == "taskset" else (lambda c=cores: os.sched_setaffinity(0, c))
            if a.dry_run:
                print(" ".join(cmd))
                free.append(slot)
                log.close()
                continue
            p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=job_env, cwd=ROOT,
                                 preexec_fn=pin)
            running[p] = (name, v, seed, path, slot, log, time.time())
        if not running:
            break
        time.sleep(0.5)
        for p in [p for p in running if p.poll() is not None]:
            name, v, seed, path, slot, log, t0 = running.pop(p)
            log.close()
            free.append(slot)
            done += 1
            if p.returncode != 0 or not path.exists():
                print(f"[{done}/{total}] {name} seed {seed}: FAILED (exit {p.returncode}); see "
                      f"{path.with_suffix('.log')}", flush=True)
                continue
            r = _tag(json.loads(path.read_text()), name, v)
            results.append(r)
            print(f"[{done}/{total}] {name} seed {seed} (cores {slot_cores[slot]}): val {r['val_loss']:.4f}, "
                  f"{r['steps']} steps, {r['train_seconds']:.1f} s training, {time.time() - t0:.0f} s wall; "
                  f"{(time.time() - t_start) / 60:.1f} min so far", flush=True)
    return results


def _tag(r, name, v):
    return {**r, "variant": name, "variant_config": v["config"], "variant_set": v["set"]}


def collect(out_dir, budget, plan=None):
    "Every finished run in `out_dir/runs` (all grids run there): (budget runs, runs at `budget` seconds)."
    budget_runs, runs = [], []
    for path in sorted((Path(out_dir) / "runs").glob("*__seed*.json")):
        r = json.loads(path.read_text())
        name = path.stem.rsplit("__seed", 1)[0]
        r = _tag(r, name, {"config": r["config"], "set": r["overrides"]})
        if plan is not None:                                   # step budgets: the planned iterations, timed
            p = plan["variants"].get(name)
            if p is None or r["steps"] != p["iters"]:
                print(f"not in results.json: {path.name} (not in this plan)")
                continue
            r["step_seconds"] = p["seconds_per_step"]
            r["train_seconds_measured"] = r["train_seconds"]
            r["train_seconds"] = r["steps"] * p["seconds_per_step"]
            r["tokens_per_s"] = r["tokens"] / r["train_seconds"]
            for pt in r["curve"]:
                pt["seconds_measured"] = pt["seconds"]
                pt["seconds"] = round(pt["step"] * p["seconds_per_step"], 3)
            runs.append(r)
        elif name == "classic-2000it" and r["time_budget"] is None:
            budget_runs.append(r)
        elif r["time_budget"] is not None and abs(r["time_budget"] - budget) < 1e-3:
            runs.append(r)
        else:
            print(f"not in results.json: {path.name} ran with another time budget ({r['time_budget']})")
    return budget_runs, runs


def measure_step_costs(grid, data, threads=2, rounds=5, steps=20, warm=5) -> dict:
    "Seconds per training step of every variant on `threads` threads (`aigc_book.recipes.step_costs`)."
    import torch
    from aigc_book.data import load_text_file, CharTokenizer, text_batch_fn
    from aigc_book.recipes import resolve_config, build_model, build_optimizers, train_recipe, step_costs
    torch.set_num_threads(threads)
    text = load_text_file(data)
    tok = CharTokenizer.from_text(text)
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    train_ids = ids[:int(0.9 * len(ids))]

    def stepper(v):
        c = resolve_config(v["config"], v["set"])
        model = build_model(c, tok.vocab_size)
        opts = build_optimizers(model, c)
        batches = text_batch_fn(train_ids, c["block_size"], c["batch_size"], seed=0)
        return lambda n: train_recipe(model, opts, {**c, "iters": n, "warmup": 0}, batches)

    costs = step_costs({name: stepper(v) for name, v in grid.items()}, rounds=rounds, steps=steps, warm=warm)
    return {"threads": threads, "rounds": rounds, "steps_per_round": steps, **costs,
            "load_avg": os.getloadavg()[0]}


def plan_from_costs(grid, costs, budget_iters=2000) -> dict:
    "Steps per variant that fit the classic configuration's `budget_iters` (`aigc_book.recipes.equal_time_plan`)."
    from aigc_book.recipes import resolve_config, equal_time_plan
    if "classic" not in grid:
        raise SystemExit("--time-budget costs needs the variant 'classic' in the grid (it sets the budget)")
    configs = {name: resolve_config(v["config"], v["set"]) for name, v in grid.items()}
    return equal_time_plan(configs, costs["per_round"], "classic", budget_iters)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--data", default="shared/data/tinyshakespeare.txt",
                    help="the text file (a relative path is taken from the repo's root)")
    ap.add_argument("--grid", default="full", choices=sorted(GRIDS))
    ap.add_argument("--variants", default=None, help="a JSON file {name: {config, set: [key=value, ...]}}")
    ap.add_argument("--only", nargs="+", default=None, help="run only these variants of the grid")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--jobs", type=int, default=8, help="processes at once")
    ap.add_argument("--cores-per-job", type=int, default=2)
    ap.add_argument("--first-core", type=int, default=0)
    ap.add_argument("--time-budget", default="auto",
                    help="training seconds per run, 'auto' (median time of the classic 2,000 iterations), or "
                         "'costs' (measured step costs -> iterations per variant)")
    ap.add_argument("--calib-threads", type=int, default=2, help="threads for measuring step costs ('costs')")
    ap.add_argument("--calib-rounds", type=int, default=5, help="interleaved rounds for the step costs")
    ap.add_argument("--budget-iters", type=int, default=2000, help="iterations of the classic run for 'auto'")
    ap.add_argument("--curve-every", type=float, default=5.0, help="seconds of training between curve points")
    ap.add_argument("--out", default="benchmarks/runs/ablate", help="folder for the runs and results.json")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--force", action="store_true", help="rerun runs whose JSON exists")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    ap.add_argument("--list", action="store_true", help="print the grid and exit")
    ap.add_argument("--collect", action="store_true",
                    help="only merge the finished runs in --out into results.json (with --time-budget costs or S)")
    a = ap.parse_args(argv)
    grid = load_variants(a)
    if a.list:
        for name, v in grid.items():
            print(f"{name:26s} --config {v['config']} " + " ".join(f"--set {s}" for s in v["set"]))
        return
    if not (ROOT / a.data).is_file() and not Path(a.data).is_file():
        raise SystemExit(f"--data {a.data}: no such file (relative paths are taken from {ROOT})")
    a.data = Path(a.data) if Path(a.data).is_file() else ROOT / a.data
    slot_cores = slots(a.jobs, a.cores_per_job, a.first_core)
    t0 = time.time()
    budget_runs, budget, plan = [], None, None
    if a.collect and a.time_budget == "auto":
        raise SystemExit("--collect needs --time-budget costs or the budget in seconds, not 'auto'")
    if a.time_budget == "costs":
        path = Path(a.out) / "step_costs.json"
        Path(a.out).mkdir(parents=True, exist_ok=True)
        costs = json.loads(path.read_text()) if path.exists() and not a.force else {"seconds_per_step": {}}
        todo = {n: v for n, v in grid.items() if n not in costs["seconds_per_step"]}
        if todo and a.collect:
            raise SystemExit(f"--collect: no step costs for {list(todo)} in {path}")
        if todo:
            if costs["seconds_per_step"] and "classic" not in todo:
                todo = {"classic": grid["classic"], **todo}      # re-measured beside the new ones: same load
            print(f"measuring step costs of {list(todo)} ({a.calib_threads} threads, {a.calib_rounds} rounds)",
                  flush=True)
            new = measure_step_costs(todo, a.data, a.calib_threads, a.calib_rounds)
            if costs["seconds_per_step"]:                         # rescale the new ones to the old classic
                scale = costs["seconds_per_step"]["classic"] / new["seconds_per_step"]["classic"]
                for key in ("seconds_per_step", "per_round"):
                    new[key] = {n: ([x * scale for x in t] if isinstance(t, list) else t * scale)
                                for n, t in new[key].items()}
                    new[key].update(costs[key])
                new["earlier"] = costs
            costs = new
            path.write_text(json.dumps(costs, indent=1))
        for n, t in costs["seconds_per_step"].items():
            print(f"  {n:26s} {1000 * t:7.1f} ms/step", flush=True)
        # the plan of the whole grid (step costs pooled over all its variants), then the variants asked for
        whole = grid if a.variants or not a.only else GRIDS[a.grid]
        plan = plan_from_costs(whole, costs, a.budget_iters)
        plan["variants"] = {n: plan["variants"][n] for n in grid}
        budget = plan["time_budget"]
        step_plan = lambda name: plan["variants"][name]
    elif a.time_budget == "auto" and not a.dry_run:
        classic = variant(f"iters={a.budget_iters}")
        seeds = list(range(a.jobs))
        print(f"measuring the budget: classic small-cpu, {a.budget_iters} iterations, {len(seeds)} runs at "
              f"once", flush=True)
        budget_runs = run_all(a, [("classic-2000it", classic, s) for s in seeds], None, slot_cores)
        if not budget_runs:
            raise SystemExit("every budget run failed: see the logs")
        budget = statistics.median(r["train_seconds"] for r in budget_runs)
        print(f"time budget = median training time of {len(budget_runs)} classic runs = {budget:.1f} s "
              f"(range {min(r['train_seconds'] for r in budget_runs):.1f} .. "
              f"{max(r['train_seconds'] for r in budget_runs):.1f} s)", flush=True)
    else:
        budget = 60.0 if a.time_budget == "auto" else float(a.time_budget)   # dry run: a stand-in for 'auto'
        if not budget > 0:
            raise SystemExit(f"--time-budget must be > 0 or 'auto', got {a.time_budget}")
    runs = [(name, v, s) for s in a.seeds for name, v in grid.items()]   # round robin: seed by seed
    print(f"{len(runs)} runs ({len(grid)} variants x {len(a.seeds)} seeds), {len(slot_cores)} at once, "
          f"{budget:.1f} s of training each", flush=True)
    if not a.collect:
        run_all(a, runs, step_plan if plan else budget, slot_cores)
    if a.dry_run:
        return
    budget_runs, results = collect(a.out, budget, plan)
    merged = {"command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]) if argv is None else argv,
              "time_budget": budget, "budget_runs": budget_runs, "runs": results, "seeds": a.seeds,
              "budget_mode": "step costs" if plan else "seconds", "plan": plan,
              "jobs": a.jobs, "cores_per_job": a.cores_per_job, "cpus": os.cpu_count(), "data": str(a.data),
              "minutes": (time.time() - t0) / 60}
    out = Path(a.out) / "results.json"
    tmp = out.with_name("results.json.tmp")
    tmp.write_text(json.dumps(merged, indent=1))
    os.replace(tmp, out)
    minutes = (time.time() - t0) / 60
    print(f"wrote {out}: {len(results)} runs + {len(budget_runs)} budget runs ({minutes:.1f} min)")


if __name__ == "__main__":
    main()
