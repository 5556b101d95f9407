"""Start-up: `ganbench --help` (and `ganbench list models`) against `python -c "import torch"`, in one run.

    python benchmarks/startup.py            # 7 alternating rounds; appends to benchmarks/startup.jsonl

The command line imports every plugin's registration module but never torch (the `fast-start` contracts); the
target is that `ganbench --help` takes at most half of what importing torch alone takes. Each round runs the
three commands one after another as fresh processes (wall time, the interpreter's start included); the figure is
the median of the per-round ratios, so a busy machine slows both sides of a ratio alike.
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).parent
COMMANDS = {
    "import torch": [sys.executable, "-c", "import torch"],
    "ganbench --help": [sys.executable, "-c", "from ganbench.cli import main; main(['--help'])"],
    "ganbench list models": [sys.executable, "-c", "from ganbench.cli import main; main(['list', 'models'])"],
}


def wall(command: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def measure(rounds: int) -> dict:
    for command in COMMANDS.values():  # warm the file cache once
        wall(command)
    seconds = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, command in COMMANDS.items():
            seconds[name].append(wall(command))
    torch_s = seconds["import torch"]
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.machine(),
        "python": platform.python_version(), "rounds": rounds,
        "median_seconds": {name: round(statistics.median(s), 3) for name, s in seconds.items()},
        "ratio_help_to_torch": round(statistics.median(h / t for h, t in zip(seconds["ganbench --help"], torch_s)), 3),
        "ratio_list_to_torch": round(statistics.median(h / t for h, t in zip(seconds["ganbench list models"], torch_s)), 3),
    }


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    record = measure(rounds)
    with open(HERE / "startup.jsonl", "a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
