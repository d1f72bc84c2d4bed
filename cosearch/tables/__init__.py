"""Published trained-accuracy tables (NAS benchmarks) read as data: the validation harness ranks
against them and the accuracy model calibrates on them (``spikenas``: SpikeNAS-Bench)."""

#: Trained-accuracy tables by name (``validate --benchmark NAME``, a calibration source's ``benchmark:``).
BENCHMARKS = ("spikenas",)
