"""The benchmark package runs end to end: a smoke test, never a timing assertion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = {"reference_api_v1", "synthetic_100", "fusion_1000_vs_10", "nothing_to_do",
             "startup_1000"}


def test_quick_run_reports_every_scenario_with_verified_outputs(tmp_path: Path) -> None:
    """`python -m benchmarks --quick --json` succeeds, covers every scenario with positive
    times, and each scenario first proved compiled and reference outputs equal."""
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "| contender |" in proc.stdout
    results = json.loads(out.read_text())
    scenarios = {scenario["id"]: scenario for scenario in results["scenarios"]}
    assert set(scenarios) == SCENARIOS
    for scenario in scenarios.values():
        assert scenario["verified"], scenario["id"]
        assert scenario["rows"], scenario["id"]
        for row in scenario["rows"]:
            assert row["median"] > 0, (scenario["id"], row["name"])
            assert row["min"] > 0, (scenario["id"], row["name"])
        for target in scenario["targets"]:
            assert target["value"] > 0, (scenario["id"], target["text"])
    for key in ("cpu", "cores", "python", "msgspec", "pendulum", "datever"):
        assert results["environment"][key], key
