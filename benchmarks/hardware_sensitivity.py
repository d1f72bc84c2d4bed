"""Hardware-sensitivity ground truth: does the proxy rank T, ADC bits and devices as trained accuracy does?

For each trained checkpoint (``cosearch train`` or the ``train`` evaluator's folder: ``checkpoint.pt``)
and each setting of a grid that varies what the co-searches trade (timesteps T at inference, ADC
bits, device), measures on the same candidate

* ``accuracy_hw`` (:func:`cosearch.accuracy.hardware_accuracy`: the trained weights programmed onto
  the setting's crossbars, partial sums ADC-quantised, mean over seeded device draws), and
* the proxy's metrics with ``noise: true`` at the checkpoint's own width (``proxy_score``,
  ``proxy_score_noisy``, ``proxy_score_drop``, ``proxy_noise_spike_mismatch``),

then prints Kendall tau of each proxy metric and of ``proxy_accuracy_estimate`` against
``accuracy_hw`` per checkpoint and over all rows (higher-is-better orientation: drop and mismatch
are negated). T is varied at inference only:
the weights were trained at the checkpoint's T (training one network per T is the GPU version of
this study). Rows are appended to ``--out`` (CSV) as they finish, and settings already there are
skipped, so the study can run in several sittings.

    OMP_NUM_THREADS=1 COSEARCH_DATA=../shared/data python benchmarks/hardware_sensitivity.py \\
        CKPT_DIR [CKPT_DIR ...] --out sensitivity.csv [--test-size 512] [--draws 2]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from scipy.stats import kendalltau

from cosearch.accuracy import HardwareEvalSettings, hardware_accuracy
from cosearch.core.candidate import Candidate
from cosearch.data import load_dataset
from cosearch.hw import load_hardware_section
from cosearch.proxy.score import ProxySettings, accuracy_estimate, proxy_score
from cosearch.training import CHECKPOINT, evaluation_subset, make_model
from cosearch.workload import network_slots

#: (T, device, ADC bits): None = the checkpoint's T. The base setting (T of training, RRAM without
#: a noise model, 5-bit ADC) with one axis moved at a time, plus noisy devices at coarse ADCs.
GRID: list[tuple[int | None, str, int]] = sorted(
    {(t, "rram", 5) for t in (1, 2, 3, 4, None, 6)}
    | {(None, "rram", b) for b in (2, 3, 4, 5, 6, 8)}
    | {(None, d, 5) for d in ("sram", "pcm", "fefet")}
    | {(None, d, b) for d in ("pcm", "fefet") for b in (3, 4)}
    | {(2, "pcm", 5), (2, "fefet", 4)},
    key=lambda s: (s[0] or 0, s[1], s[2]),
)
#: ``--grid adc``: the checkpoint's own T (networks trained at several T) with the ADC moved, RRAM.
ADC_GRID: list[tuple[int | None, str, int]] = [(None, "rram", b) for b in (3, 4, 5, 8)]
#: ``--grid devices``: HyDe-style device per layer at the checkpoint's T and a 5-bit ADC. A mix is named
#: ``a+b`` (first half of the layer slots on a, the rest on b), ``a/b`` (alternating) or ``edge-a-b``
#: (the first and the last two slots on a, the rest on b); homogeneous devices beside them.
MIXES: dict[str, Callable[[int], list[str]]] = {
    "pcm+fefet": lambda n: ["pcm"] * (n // 2) + ["fefet"] * (n - n // 2),
    "fefet+pcm": lambda n: ["fefet"] * (n // 2) + ["pcm"] * (n - n // 2),
    "pcm/fefet": lambda n: ["pcm" if i % 2 == 0 else "fefet" for i in range(n)],
    "edge-sram-pcm": lambda n: ["sram"] + ["pcm"] * (n - 3) + ["sram"] * 2,
    "edge-sram-fefet": lambda n: ["sram"] + ["fefet"] * (n - 3) + ["sram"] * 2,
}
DEVICE_GRID: list[tuple[int | None, str, int]] = [(None, d, 5) for d in ("sram", "pcm", "fefet", *MIXES)]
GRIDS = {"full": GRID, "adc": ADC_GRID, "devices": DEVICE_GRID}
PROXY_METRICS = {"proxy_score": 1, "proxy_score_noisy": 1, "proxy_score_drop": -1, "proxy_noise_spike_mismatch": -1}


def load_checkpoint(folder: Path) -> tuple[Candidate, dict[str, Any]]:
    state = torch.load(folder / CHECKPOINT, map_location="cpu", weights_only=False)
    return Candidate.from_dict(state["candidate"]), state


def measure(folder: Path, setting: tuple[int | None, str, int], hardware: Any, test: Any, train: Any,
            draws: int) -> dict[str, Any]:
    """One row: the setting, accuracy_hw of the trained weights, the proxy's metrics, seconds."""
    candidate, state = load_checkpoint(folder)
    timesteps, device, bits = setting
    candidate = dataclasses.replace(candidate, timesteps=timesteps or candidate.timesteps,
                                    hardware={**dict(candidate.hardware), "adc_bits": bits,
                                              "device": MIXES[device](network_slots(candidate.network))
                                              if device in MIXES else device})
    scale, trained = float(state["channel_scale"]), state["settings"]
    net, _ = make_model(candidate, scale, trained["classifier_init"])
    net.load_state_dict(state["model"])
    began = time.perf_counter()
    accuracy = hardware_accuracy(net, candidate, hardware, test, HardwareEvalSettings(draws=draws))
    evaluated = time.perf_counter()
    proxy = proxy_score(candidate, train, ProxySettings(channel_scale=scale, noise=True, device="cpu"), hardware).metrics()
    return {
        "checkpoint": folder.name, "arch": candidate.network["arch"], "timesteps": candidate.timesteps,
        "device": device, "adc_bits": bits, "accuracy": accuracy.accuracy,
        "accuracy_quantised": accuracy.accuracy_quantised, "accuracy_hw": accuracy.accuracy_hw,
        "accuracy_hw_std": accuracy.accuracy_hw_std, "images": accuracy.images,
        **{name: proxy[name] for name in PROXY_METRICS},
        "accuracy_s": round(evaluated - began, 1), "proxy_s": round(time.perf_counter() - evaluated, 1),
    }


def taus(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Kendall tau (tau-b) of each proxy metric, oriented higher-is-better, and of the shipped accuracy
    estimate (computed from the noisy score and the mismatch, so older rows have it too) against accuracy_hw."""
    target = [float(r["accuracy_hw"]) for r in rows]
    out = {name: float(kendalltau([sign * float(r[name]) for r in rows], target).statistic)
           for name, sign in PROXY_METRICS.items()}
    estimate = [accuracy_estimate(float(r["proxy_score_noisy"]), float(r["proxy_noise_spike_mismatch"])) for r in rows]
    return {**out, "proxy_accuracy_estimate": float(kendalltau(estimate, target).statistic)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--test-size", type=int, default=512)
    parser.add_argument("--draws", type=int, default=2)
    parser.add_argument("--limit", type=int, help="measure at most this many new settings, then report")
    parser.add_argument("--grid", choices=list(GRIDS), default="full",
                        help="full: T at inference, ADC bits and devices (20 settings); adc: the checkpoint's T "
                             "with 3, 4, 5 and 8-bit ADCs (for networks trained at several T); devices: device per "
                             "layer (MIXES) beside homogeneous devices, 5-bit ADCs")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    hardware = load_hardware_section()
    train = load_dataset({}, split="train")
    done: list[dict[str, Any]] = list(csv.DictReader(args.out.open())) if args.out.exists() else []
    seen = {(r["checkpoint"], int(r["timesteps"]), r["device"], int(r["adc_bits"])) for r in done}
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {len(done)} rows already in {args.out}")
    new = 0
    for folder in args.checkpoints:
        candidate, state = load_checkpoint(folder)
        test = evaluation_subset(load_dataset({}, split="test"), args.test_size, int(state["settings"]["seed"]))
        for setting in GRIDS[args.grid]:
            key = (folder.name, setting[0] or candidate.timesteps, setting[1], setting[2])
            if key in seen or (args.limit is not None and new >= args.limit):
                continue
            row = measure(folder, setting, hardware, test, train, args.draws)
            new += 1
            write_header = not args.out.exists()
            with args.out.open("a", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(row))
                if write_header:
                    writer.writeheader()
                writer.writerow(row)
            done.append(row)
            print(f"{key}: acc_hw {row['accuracy_hw']:.3f} noisy {row['proxy_score_noisy']:.1f} "
                  f"mismatch {row['proxy_noise_spike_mismatch']:.4f} ({row['accuracy_s']} + {row['proxy_s']} s)", flush=True)
    print(f"load {os.getloadavg()[0]:.2f}")
    print(f"{'rows':<24} {'n':>3} " + " ".join(f"{name:>26}" for name in [*PROXY_METRICS, "proxy_accuracy_estimate"]))
    groups = {name: [r for r in done if r["checkpoint"] == name] for name in dict.fromkeys(r["checkpoint"] for r in done)}
    for label, rows in [*groups.items(), ("all", done)]:
        if len(rows) > 2:
            print(f"{label:<24} {len(rows):>3} " + " ".join(f"{tau:>26.3f}" for tau in taus(rows).values()))


if __name__ == "__main__":
    main()
