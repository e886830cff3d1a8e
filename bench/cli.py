"""How long `novelcrew plugins --json` and `novelcrew --help` take, against baselines.

Baselines in the same script: a bare interpreter start (`python -c pass`) and `import crewai`
(what the CLI avoids). Prints medians over several runs, and ratios against the bare start.
Target: `novelcrew plugins --json` well under 2 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
RUNS = 7


def median_seconds(argv: list[str], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    cases = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "novelcrew --help": [str(BIN / "novelcrew"), "--help"],
        "novelcrew plugins --json": [str(BIN / "novelcrew"), "plugins", "--json"],
        "python -c 'import crewai' (avoided)": [sys.executable, "-c", "import crewai"],
    }
    results = {name: median_seconds(argv, 3 if "crewai" in name else RUNS)
               for name, argv in cases.items()}
    base = results["python -c pass (baseline)"]
    print(f"{'command':40} {'median s':>9} {'x baseline':>11}")
    for name, seconds in results.items():
        print(f"{name:40} {seconds:9.3f} {seconds / base:11.1f}")
    verdict = "met" if results["novelcrew plugins --json"] < 2.0 else "NOT met"
    print(f"target: plugins --json < 2 s: {verdict}")


if __name__ == "__main__":
    main()
