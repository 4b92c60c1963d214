"""``python -m har.edge.bench measure|memory ...``: the benchmark child (:mod:`har.edge.bench.child`)."""

import sys

from har.edge.bench.child import main

if __name__ == "__main__":
    sys.exit(main())
