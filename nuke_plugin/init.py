"""relit for Nuke, run at every start (GUI, terminal and render farm): makes the Relit gizmo, its
Python callbacks and relit's core folder findable. Add this folder to NUKE_PATH (see README)."""
import os
import sys

import nuke

HERE = os.path.dirname(os.path.abspath(__file__))
nuke.pluginAddPath(os.path.join(HERE, "gizmos"))
nuke.pluginAddPath(os.path.join(HERE, "python"))
# relit.dcc (the job runner and pass names) imports only the standard library: the repository's core
# folder is enough, unless relit is installed where Nuke's Python already finds it
CORE = os.environ.get("RELIT_CORE", os.path.join(os.path.dirname(HERE), "core"))
if os.path.isdir(CORE) and CORE not in sys.path:
    sys.path.append(CORE)
