"""Body keypoints on the device: BlazePose (detector + full landmark model) on LiteRT.

Why a pose path at all: a window of 33 keypoints per frame says what a person
does with far fewer numbers than the pixels around them, and it does not care
about the room, the lighting or the clothes. The two models come from the
``mediapipe`` wheel on PyPI (Apache-2.0) and are fetched once with
``har models fetch pose`` (or ``har-edge models fetch pose``); mediapipe itself
is never installed or imported, the graph around the models is reimplemented
here in numpy and OpenCV.

* :mod:`.assets`: fetch, verify and find the two ``.tflite`` files.
* :mod:`.lite`: the optional lite landmark model, out of the ``@mediapipe/pose``
  tarball on the npm registry (:mod:`.npm_tarball`, HTTPS, no npm).
* :mod:`.pinned`: what both fetches share: verify, fetch into the cache, write atomically.
* :mod:`.detector`: the person detector and the ROI it gives the landmark model.
* :mod:`.landmarks`: the landmark model on a rotated crop.
* :mod:`.estimator`: :class:`PoseEstimator`, detection plus tracking frame to frame.
* :mod:`.features`: a window of poses -> the feature matrix of the temporal head.
* :mod:`.cli`: ``models fetch pose``, mounted on both ``har`` and ``har-edge``.

See docs/pose.md.
"""
