"""Benchmark robot: writes the wall-clock time of its first and of its last line, does nothing else."""
import time; FIRST = time.time()  # noqa: E702,I001 - the very first line is what is measured
import os  # noqa: E402

with open(os.path.join(os.environ["TEST_OUT"], "stamp.txt"), "w") as f:
    f.write(f"{FIRST!r} {time.time()!r}\n")
