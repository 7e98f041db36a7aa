"""pytest glue for running the book's notebooks with nbval.

1. nbdev_clean blanks every cell's execution_count, which nbval reads as "never run" (and then refuses
   a cell that has outputs). Notebooks in this repo are always committed executed, so every code cell
   is a reference cell: we mark them as run, which makes nbval compare every output strictly
   (cells tagged `# NBVAL_IGNORE_OUTPUT` excepted). nbval's 5 s wait for late output messages is raised to 60 s.
2. Time each notebook (kernel start included), print a table, and fail the run when a notebook goes
   over its budget (env NB_BUDGET_S, seconds; unset = no limit).
"""
import os
from collections import defaultdict

_times = defaultdict(float)
_over = []

def pytest_collection_modifyitems(session, config, items):
    for item in items:
        # nbval waits only 5 s between a cell's output messages after the cell finished; a loaded machine
        # (or a big figure) can be slower than that, which is not a failure of the notebook
        if hasattr(item, "output_timeout"): item.output_timeout = 60
        cell = getattr(item, "cell", None)
        if cell is not None and cell.get("cell_type") == "code" and cell.get("execution_count") is None:
            cell["execution_count"] = 1

def pytest_runtest_logreport(report):
    if ".ipynb" in report.nodeid: _times[report.nodeid.split("::")[0]] += report.duration

def pytest_sessionfinish(session, exitstatus):
    budget = float(os.environ.get("NB_BUDGET_S") or 0)
    if budget:
        _over.extend(nb for nb, t in _times.items() if t > budget)
        if _over and session.exitstatus == 0: session.exitstatus = 1

def pytest_terminal_summary(terminalreporter):
    if not _times: return
    tr = terminalreporter
    budget = os.environ.get("NB_BUDGET_S")
    tr.section("notebook run times" + (f" (budget {budget} s each)" if budget else ""))
    for nb, t in sorted(_times.items()): tr.write_line(f"{t:7.1f} s  {nb}" + ("   OVER BUDGET" if nb in _over else ""))
    tr.write_line(f"{sum(_times.values()):7.1f} s  total")
