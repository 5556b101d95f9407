"""System helpers every part may use: errors, paths, devices, disk, progress, cache files.

The lowest layer: it imports nothing else of ganbench.
"""
