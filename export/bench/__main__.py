"""``python -m har.export.bench SPEC.json OUT.json``: the Keras benchmark child (:mod:`har.export.bench.keras`)."""

import sys

from har.export.bench.keras import main

if __name__ == "__main__":
    sys.exit(main())
