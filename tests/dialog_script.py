"""The parms of a Houdini DialogScript (an HDA's parameter interface, stored as text), as Houdini evaluates
them: what the HDA tests check against relit's knob names, for the COP2 and the Copernicus HDA alike."""
import json
import re

# how Houdini evaluates each parm type's values (a DialogScript stores them all as strings)
EVAL_AS = {"toggle": int, "ordinal": int, "integer": int, "float": float, "color": float}


def parms(dialog: str) -> dict[str, dict]:
    """name -> {type, size, default, menu, block} for every parm block of a DialogScript."""
    out = {}
    for block in re.findall(r"parm \{(.*?)\n        \}", dialog, re.S):
        name = re.search(r'name\s+"(\w+)"', block).group(1)
        kind = re.search(r"type\s+(\w+)", block).group(1)
        default = re.search(r"default \{ (.*?) \}", block).group(1)
        cast = EVAL_AS.get(kind, str)
        out[name] = {"type": kind, "size": int(re.search(r"size\s+(\d+)", block).group(1)) if "size" in block else 1,
                     "default": tuple(cast(json.loads(v)) for v in re.findall(r'"[^"]*"', default)),
                     "menu": re.findall(r'^\s+"(\w+)"\s+"', block, re.M), "block": block}
    return out
