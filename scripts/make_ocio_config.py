"""Rebuild ocio_configs/relit-cg-config-*.ocio from OCIO's built-in CG config.

relit ships a serialised copy (not the ``ocio://`` URI) so that every OCIO >= 2.4
install, DCC-bundled ones included, resolves exactly the same colourspaces.
Run: python scripts/make_ocio_config.py
"""
from pathlib import Path

import PyOpenColorIO as ocio

BUILTIN = "cg-config-v2.2.0_aces-v1.3_ocio-v2.4"

if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "ocio_configs" / f"relit-{BUILTIN}.ocio"
    out.write_text(ocio.Config.CreateFromFile(f"ocio://{BUILTIN}").serialize())
    print(f"wrote {out}")
