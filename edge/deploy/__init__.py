"""Files a device install needs beside the code: the systemd unit and the Raspberry Pi constraints files.

They travel in the wheel as package data; ``har-edge init`` writes the unit,
and ``har-edge doctor`` names the constraints file that fixes a numpy mismatch.
"""
