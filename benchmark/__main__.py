import sys

from benchmark.interrupt import guarded, held, install


def _main() -> int:
    with held():  # a Ctrl-C while the command line's modules import is raised after them (see held)
        from benchmark.cli import main  # imported under the guard: Ctrl-C during start-up is a clean exit

    return main()


install()
sys.exit(guarded(_main))
