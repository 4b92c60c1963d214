"""The device runtime: numpy, OpenCV and a LiteRT interpreter, never TensorFlow."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("har-edge")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
