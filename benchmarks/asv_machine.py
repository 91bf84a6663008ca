"""``python -m benchmarks.asv_machine NAME``: store this machine's description in
``~/.asv-machine.json`` under ``NAME`` (``make bench`` uses ``<hostname>-<device>``).

``asv machine --yes --machine NAME`` records only the name when it is not the hostname; this
fills in what ``asv machine --yes`` detects (OS, CPU, cores, RAM) and, when
``DGL_MA_BENCH_DEVICE`` names CUDA, the GPU. Not a benchmark module (asv finds nothing in it).
"""
import os
import sys


def describe(name: str) -> dict:
    from asv.machine import Machine

    from benchmarks.common import DEVICE_ENV

    info = dict(Machine.get_defaults(), machine=name)
    dev = os.environ.get(DEVICE_ENV, "cpu").strip().lower() or "cpu"
    if dev.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            info["cpu"] += f"; GPU: {torch.cuda.get_device_name(torch.device(dev))}"
    return info


def main(argv) -> int:
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    from asv.machine import MachineCollection

    info = describe(argv[1])
    MachineCollection.save(argv[1], info)
    print(f"asv machine {argv[1]!r}: " + ", ".join(f"{k}={v}" for k, v in info.items() if k != "machine"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
