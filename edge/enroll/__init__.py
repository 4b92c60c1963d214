"""Teach the device new labels from a few recordings, on the device, without TensorFlow (docs/enroll.md).

:mod:`store` (the enrolment file), :mod:`references` (the bundle's own
labels in embedding space), :mod:`prototypes` (scoring and open-set
thresholds), :mod:`record` (recordings -> examples), :mod:`runtime` (the
live pipeline, reloading), :mod:`cli` (``har-edge enroll``) and
:mod:`bench` (what enrolled labels cost per window).
"""
