"""nbval glue for the book's exercises (see tools/exercises.py).

When nbval reaches an exercise cell (a code cell holding the line `# --- check ---`), the kernel first runs
the cell's check alone, with the solution removed: it must raise. Then nbval runs the whole cell as usual, so
the check must pass with the solution and the outputs are compared as for any cell. A check that passes
without its solution fails the test. The exercise test therefore costs no extra notebook run; the terminal
summary counts the checks and the errors they raised without their solutions.
"""
import importlib.util
from collections import Counter
from pathlib import Path
from queue import Empty

_TOOL = Path(__file__).resolve().parents[1] / "tools" / "exercises.py"
_spec = importlib.util.spec_from_file_location("_aigc_exercises", _TOOL)
exercises = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(exercises)

_stub_errors = Counter()


class ExerciseCheckError(AssertionError):
    "An exercise's check passed without its solution."


def _run_without_solution(item) -> str:
    "Run the check of `item`'s exercise cell alone in its kernel; return the exception's name ('' if none)."
    kernel = item.parent.kernel
    msg_id = kernel.kc.execute(exercises.check_source(item.cell.source), store_history=False,
                               allow_stdin=False, stop_on_error=False)
    timeout = item.config.option.nbval_cell_timeout
    while True:
        reply = kernel.get_message(stream="shell", timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    try:
        kernel.await_idle(msg_id, item.output_timeout)   # drain this run's outputs so nbval never sees them
    except Empty:
        pass
    content = reply["content"]
    return content.get("ename", "error") if content["status"] != "ok" else ""


def _wrap(item):
    run = item.runtest
    def runtest():
        if not item.options["skip"] and item.parent.kernel.is_alive():
            ename = _run_without_solution(item)
            if not ename:
                raise ExerciseCheckError(f"cell {item.cell_num}: the exercise's check passes without its "
                                         f"solution (everything above {exercises.MARKER!r} removed); make it "
                                         "depend on the solution")
            item.user_properties.append(("exercise_error_without_solution", ename))
        return run()
    item.runtest = runtest


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is not None and exercises.is_exercise(cell):
            _wrap(item)


def pytest_runtest_logreport(report):
    if report.when == "call":
        for k, v in report.user_properties:
            if k == "exercise_error_without_solution":
                _stub_errors[v] += 1


def pytest_terminal_summary(terminalreporter):
    if _stub_errors:
        n = sum(_stub_errors.values())
        what = ", ".join(f"{k} {v}" for k, v in _stub_errors.most_common())
        terminalreporter.write_line(f"exercise checks: {n} failed without their solution, as required "
                                    f"({what})")
