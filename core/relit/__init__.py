"""relit: from a photo or plate of a person, the passes a compositor needs to relight them.

Data flows one way: read -> linearise -> infer passes -> light -> composite -> write.
"""
from .colour import Image, resolve_config
from .errors import RelitError
from .passes import PASSES, PassStack

__version__ = "0.1.0"
__all__ = ["Image", "PASSES", "PassStack", "RelitError", "resolve_config", "__version__"]
