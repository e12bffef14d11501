"""A stand-in for the ``relit`` command in PassesJob tests: it writes each output frame (its arguments and
input frame's bytes), logs each call to $RELIT_FAKE_CALLS, and floods stderr as a long tqdm run does."""
import os
import sys
from pathlib import Path

args = sys.argv[1:]
with open(os.environ["RELIT_FAKE_CALLS"], "a") as calls:
    calls.write(" ".join(args) + "\n")
sys.stderr.write("x" * 300_000)  # more than a pipe holds: a runner that does not read it would hang
step, source, output = args[0], args[1], args[args.index("-o") + 1]
frames = [None]
if "--frames" in args:
    first, last = map(int, args[args.index("--frames") + 1].split("-"))
    frames = list(range(first, last + 1))
for frame in frames:
    out = Path(output if frame is None else output.replace("####", f"{frame:04d}"))
    src = Path(source if frame is None else source.replace("####", f"{frame:04d}"))
    if not out.exists() or frame is None:  # relit resumes a sequence; a still is always written
        out.write_bytes(" ".join(args).encode() + (src.read_bytes() if src.is_file() else b""))
