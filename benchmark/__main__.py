import sys

from benchmark.interrupt import guarded, install


def _main() -> int:
    from benchmark.cli import main  # imported under the guard: Ctrl-C during start-up is a clean exit

    return main()


install()
sys.exit(guarded(_main))
