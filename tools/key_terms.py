"""Write each chapter's key terms, in English and Chinese, under its title.

Usage (from the repository root, when the chapters are final):

    python tools/key_terms.py            # update every nbs/[0-9]*.ipynb and nbs/index.ipynb
    python tools/key_terms.py --check    # change nothing; exit 1 if any notebook would change
    python tools/key_terms.py nbs/21_vae.ipynb ...

The title cell is the first markdown cell starting with '# '. The line '**Key terms:** English (中文) · …'
from `aigc_book.glossary.key_terms_line` goes right after the title's '> description' line, as its own
paragraph (nbdev keeps reading the description from the '>' line). An existing Key terms line is replaced,
so running the tool twice changes nothing; a chapter without glossary terms loses a stale line.
"""
from __future__ import annotations
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from aigc_book.glossary import key_terms_line  # noqa: E402

MARK = "**Key terms:**"


def _title_cell(nb: dict) -> dict | None:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and "".join(cell["source"]).startswith("# "):
            return cell
    return None


def with_key_terms(source: str, line: str) -> str:
    "The title cell's text with `line` as the Key terms paragraph (removed when `line` is '')."
    lines = [l for l in source.split("\n") if not l.startswith(MARK)]
    cleaned = []
    for l in lines:                                     # drop the blank line a removed paragraph leaves behind
        if l == "" and cleaned and cleaned[-1] == "":
            continue
        cleaned.append(l)
    while cleaned and cleaned[-1] == "":
        cleaned.pop()
    if not line:
        return "\n".join(cleaned)
    at = 1                                              # after the title ...
    while at < len(cleaned) and cleaned[at].startswith(">"):
        at += 1                                         # ... and its '> description' lines
    rest = cleaned[at:]
    if rest and rest[0] == "":
        rest = rest[1:]
    block = cleaned[:at] + ["", line] + ([""] + rest if rest else [])
    return "\n".join(block)


def update_notebook(path: Path, check: bool = False) -> bool:
    "Insert/update the Key terms line of one notebook; return True if it (would have) changed."
    path = Path(path)
    if path.suffix != ".ipynb":
        raise ValueError(f"path must be a .ipynb file, got {path}")
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    cell = _title_cell(nb)
    if cell is None:
        return False
    name = path.stem
    line = key_terms_line(name) if (name == "index" or name[:2].isdigit()) else ""
    old = "".join(cell["source"])
    new = with_key_terms(old, line)
    if new == old:
        return False
    if not check:
        parts = new.split("\n")
        cell["source"] = [p + "\n" for p in parts[:-1]] + [parts[-1]]
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook would change")
    args = ap.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "nbs").glob("[0-9]*.ipynb")) + [ROOT / "nbs" / "index.ipynb"]
    changed = [p for p in paths if update_notebook(p, check=args.check)]
    for p in changed:
        print(("would update " if args.check else "updated ") + str(p))
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
