"""``accuracy_hw`` of one trained checkpoint across ADC bits, devices and time since programming.

Reads ``CHECKPOINT_DIR/checkpoint.pt`` (written by ``cosearch train`` or the ``train`` evaluator),
evaluates it on the test images its training reported (:func:`cosearch.accuracy.checkpoint_accuracy`)
with every layer mapped to one device and one ADC precision, and prints one row per setting:
device, ADC bits, time since programming, clean / quantised / hardware accuracy (mean +- std over
the draws) and the seconds the evaluation took. Writes the rows to ``--out`` as CSV when given.

    OMP_NUM_THREADS=1 COSEARCH_DATA=/work/shared/data python benchmarks/accuracy_hw_sweep.py RUN/train/KEY
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import time
from pathlib import Path

import torch

from cosearch.accuracy import HardwareEvalSettings, checkpoint_accuracy
from cosearch.data import load_dataset
from cosearch.hw import load_hardware_section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint_dir", type=Path)
    parser.add_argument("--bits", type=int, nargs="+", default=[8, 7, 6, 5, 4, 3, 2])
    parser.add_argument("--devices", nargs="+", default=["sram", "rram", "fefet", "pcm"])
    parser.add_argument("--times", type=float, nargs="+", default=[0.0, 3600.0, 86400.0],
                        help="seconds since programming, swept for pcm at the top ADC precision")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}")

    test = load_dataset({}, split="test")
    hardware = load_hardware_section()
    cases = [(device, bits, 0.0) for device in args.devices for bits in args.bits]
    cases += [("pcm", max(args.bits), t) for t in args.times if t > 0]
    rows = []
    for device, bits, t in cases:
        began = time.perf_counter()
        result = checkpoint_accuracy(args.checkpoint_dir, hardware, test,
                                     HardwareEvalSettings(draws=args.draws, t_inference_s=t),
                                     mapping={"device": device, "adc_bits": bits})
        row = {"device": device, "adc_bits": bits, "t_inference_s": t, "accuracy": result.accuracy,
               "accuracy_quantised": result.accuracy_quantised, "accuracy_hw": result.accuracy_hw,
               "accuracy_hw_std": result.accuracy_hw_std, "images": result.images,
               "seconds": round(time.perf_counter() - began, 1)}
        rows.append(row)
        print(f"{device:6s} {bits} bits t={t:>8g} s: clean {result.accuracy:.4f} quantised {result.accuracy_quantised:.4f} "
              f"hw {result.accuracy_hw:.4f} +- {result.accuracy_hw_std:.4f} ({row['seconds']} s)")
    print(f"load after: {os.getloadavg()[0]:.2f}")
    if args.out:
        with args.out.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
