"""The sample relit ships so ``relit demo`` runs on a machine with no network (see SOURCES.md)."""
from importlib import resources
from pathlib import Path

HDRI_COLOURSPACE = "lin_rec709_srgb"  # Blender studio lights: linear Rec.709, no metadata in the files


def path(name: str) -> Path:
    return Path(str(resources.files(__name__) / name))


def portrait() -> Path:
    return path("portrait.jpg")


def hdri(name: str = "studio") -> Path:
    return path(f"{name}.exr")
