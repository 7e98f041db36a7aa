"""aigc_book.recipes (chapter 36): recipes, equal-time accounting, the ablation table; the benchmark CLIs on top."""
import json, math, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
import torch
from aigc_book import recipes as R

ROOT = Path(__file__).resolve().parents[1]


def test_resolve_config_overrides_and_errors():
    c = R.resolve_config("small-cpu", ["lr=3e-3", "n_layer=2", "pos=rope", "tie_weights=false", "warmup=1"], iters=10)
    assert (c["lr"], c["n_layer"], c["pos"], c["tie_weights"], c["iters"]) == (3e-3, 2, "rope", False, 10)
    assert R.resolve_config("small-cpu") == R.CONFIGS["small-cpu"]          # a copy, equal
    for bad, msg in [(["x=1"], "unknown recipe key"), (["lr"], "key=value"), (["n_layer=1.5"], "an integer"),
                     (["mlp=tanh"], "mlp must be one of"), (["warmup=5000"], "exceeds iters"),
                     (["block_size=16"], "shorter than the evaluation windows")]:
        with pytest.raises(ValueError, match=msg):
            R.resolve_config("small-cpu", bad)
    with pytest.raises(ValueError, match="unknown config"):
        R.resolve_config("huge")
    with pytest.raises(TypeError, match="list of 'key=value'"):
        R.resolve_config("small-cpu", "lr=1")


def test_modern_cpu_is_a_resolved_recipe():
    m = R.resolve_config("modern-cpu")
    assert m["optimizer"] in ("adamw", "muon") and m["eval_block"] == 64 and m["eval_iters"] == 200


def test_step_costs_and_equal_time_plan_with_a_fake_clock():
    now = [0.0]
    def fake(cost):
        def run(n):
            now[0] += n * cost
        return run
    costs = R.step_costs({"classic": fake(0.004), "slow": fake(0.01)}, rounds=4, steps=5, warm=1, clock=lambda: now[0])
    assert costs["seconds_per_step"]["slow"] == pytest.approx(0.01)
    assert len(costs["per_round"]["classic"]) == 4
    cfgs = {"classic": R.resolve_config("small-cpu"), "tuned": R.resolve_config("small-cpu", ["lr=3e-3"]),
            "slow": R.resolve_config("small-cpu", ["n_layer=8"])}
    plan = R.equal_time_plan(cfgs, {"classic": [0.004, 0.005], "tuned": [0.003], "slow": [0.01]})
    v = plan["variants"]
    assert v["classic"]["iters"] == v["tuned"]["iters"]                   # same work per step: pooled
    assert v["classic"]["seconds_per_step"] == pytest.approx(0.004)       # median of 0.004, 0.005, 0.003
    assert v["classic"]["iters"] == 2000 and v["slow"]["iters"] == 800 and v["slow"]["warmup"] == 40
    assert plan["time_budget"] == pytest.approx(8.0)
    with pytest.raises(ValueError, match="no measured step costs"):
        R.equal_time_plan(cfgs, {"classic": [0.004]})
    with pytest.raises(TypeError):
        R.step_costs({"a": 1})
    with pytest.raises(ValueError, match="rounds"):
        R.step_costs({"a": fake(1.0)}, rounds=0)


def test_train_recipe_is_reproducible_and_learns():
    c = R.resolve_config("tiny", ["iters=40", "warmup=4"])
    toy = (torch.arange(4000) * 3) % 17
    from aigc_book.data import text_batch_fn
    losses = []
    for _ in range(2):
        m = R.build_model(c, 17, seed=1)
        opts = R.build_optimizers(m, c)
        out = R.train_recipe(m, opts, c, text_batch_fn(toy, 32, 8, seed=1), curve_steps=(0, 40),
                             curve_batches=R.eval_batches(toy, c)[:2])
        losses.append(R.mean_loss(m, R.eval_batches(toy, c)))
    assert losses[0] == losses[1]
    assert out["steps"] == 40 and [p["step"] for p in out["curve"]] == [0, 40]
    assert out["curve"][-1]["val_loss"] < out["curve"][0]["val_loss"] - 0.3


def test_ablation_table_and_mean_curve():
    runs = [{"variant": v, "seed": s, "val_loss": base + 0.01 * s, "steps": 10}
            for v, base in (("classic", 1.9), ("tuned", 1.8), ("new", 1.7)) for s in range(3)]
    t = R.ablation_table(runs, "tuned", "classic")
    assert t.loc["new", "d_vs_baseline"] == pytest.approx(-0.1) and t.loc["new", "ci_vs_baseline"] == pytest.approx(0)
    assert t.loc["tuned", "d_vs_baseline"] == 0 and t.loc["classic", "d_vs_reference"] == 0
    with pytest.raises(ValueError, match="not among the variants"):
        R.ablation_table(runs, "gpt2")
    curve = [{"seconds": 0, "val_loss": 3.0}, {"seconds": 10, "val_loss": 2.0}, {"seconds": 10, "val_loss": 1.0,
                                                                                "final": True}]
    y = R.mean_curve([{"curve": curve}], np.array([0.0, 5.0, 20.0]))
    assert y[0] == 3.0 and y[1] == 2.5 and math.isnan(y[2])


def test_benchmark_cli_runs_the_tiny_recipe(tmp_path):
    data = tmp_path / "text.txt"
    data.write_text("hello world, a small text for a tiny model. " * 200)
    out = tmp_path / "r.json"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpt_char.py"), "--data", str(data), "--config",
                          "tiny", "--set", "iters=5", "--set", "warmup=1", "--skip-reference", "--skip-generation",
                          "--curve-every", "0", "--json", str(out), "--threads", "1"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    r = json.loads(out.read_text())
    assert r["steps"] == 5 and r["recipe"]["n_layer"] == 2 and math.isfinite(r["val_loss"])
    bad = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpt_char.py"), "--data", str(data),
                          "--set", "colour=red"], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "unknown recipe key" in bad.stderr


def test_ablate_lists_grids_and_plans_from_costs():
    sys.path.insert(0, str(ROOT))
    from benchmarks.ablate import GRIDS, plan_from_costs
    grid = GRIDS["cpu"]
    per_round = {n: [0.05 if "muon" not in n else 0.08] for n in grid}
    plan = plan_from_costs(grid, {"per_round": per_round})
    assert plan["variants"]["tuned"]["iters"] == 2000 and plan["variants"]["muon"]["iters"] == 1250
