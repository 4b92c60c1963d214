"""``python -m har.edge.bench measure|memory ...``: the benchmark child (:mod:`har.edge.bench.child`)."""

import sys

from har.edge.bench.child import main

sys.exit(main())
