"""``python -m timegan collect RUNS... [--csv F] [--markdown F]``: the scores of many runs in one
table (timegan.collect). Training, generation and evaluation are the ``timegan`` command's."""

import sys


def _main(argv):
    if not argv or argv[0] != "collect":
        print("usage: python -m timegan collect RUNS... [--csv FILE] [--markdown FILE]\n"
              "(train, generate and evaluate with the timegan command)", file=sys.stderr)
        return 2
    from ._collect import main
    return main(argv[1:])


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
