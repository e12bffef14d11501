"""The triangles of MediaPipe's 468-point face mesh, written once to core/relit/weights/face_mesh.json.

MediaPipe 0.10.14 ships the mesh as an edge list (``FACEMESH_TESSELATION``, Apache-2.0), not as
triangles. The triangles are the edge list's 3-cycles, less the two that enclose other triangles (each of
their edges is shared by three cycles); they are wound consistently, and the four holes (outline, lips,
two eyes) are told apart, the inner three to be closed by a fan around their centre at run time, so a
closed mouth and eyes get normals of their own. Run in MediaPipe's environment (scripts/mediapipe_env.sh):

    .mpvenv/bin/python scripts/face_mesh_topology.py
"""
from __future__ import annotations

import itertools
import json
import os
from collections import Counter, defaultdict, deque
from pathlib import Path

from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

OUT = Path(__file__).resolve().parents[1] / "core/relit/weights/face_mesh.json"


def triangles(edges: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """The edge graph's 3-cycles that are faces: a cycle all of whose edges three cycles share encloses
    other faces."""
    neighbours = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    cycles = sorted({tuple(sorted((a, b, c))) for a, b in edges for c in neighbours[a] & neighbours[b]})
    uses = Counter(e for t in cycles for e in itertools.combinations(t, 2))
    return [t for t in cycles if not all(uses[e] == 3 for e in itertools.combinations(t, 2))]


def wind(faces: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """The faces wound one way: a face next to a wound one crosses their shared edge the other way."""
    by_edge = defaultdict(list)
    for i, t in enumerate(faces):
        for e in itertools.combinations(t, 2):
            by_edge[frozenset(e)].append(i)
    wound: dict[int, tuple[int, int, int]] = {}
    for start in range(len(faces)):
        if start in wound:
            continue
        wound[start] = faces[start]
        queue = deque([start])
        while queue:
            t = wound[queue.popleft()]
            for a, b in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0])):
                for j in by_edge[frozenset((a, b))]:
                    if j in wound:
                        continue
                    u = faces[j]
                    directed = {(u[0], u[1]), (u[1], u[2]), (u[2], u[0])}
                    wound[j] = u if (b, a) in directed else (u[0], u[2], u[1])
                    queue.append(j)
    return [wound[i] for i in range(len(faces))]


def holes(faces: list[tuple[int, int, int]]) -> list[list[int]]:
    """The mesh's boundary loops, longest first, each in the direction its faces cross it backwards
    (so a fan (a, b, centre) over its edge a -> b is wound like the faces)."""
    directed = [(t[k], t[(k + 1) % 3]) for t in faces for k in range(3)]
    present = set(directed)
    following = {b: a for a, b in directed if (b, a) not in present}  # boundary edge a -> b, walked back
    loops, seen = [], set()
    for start in following:
        if start in seen:
            continue
        loop, v = [], start
        while v not in seen:
            seen.add(v)
            loop.append(v)
            v = following[v]
        loops.append(loop)
    return sorted(loops, key=len, reverse=True)


def main() -> None:
    faces = wind(triangles(sorted(FACEMESH_TESSELATION)))
    loops = holes(faces)
    topology = {"source": "mediapipe==0.10.14 mediapipe/python/solutions/face_mesh_connections.py "
                          "(FACEMESH_TESSELATION), Apache-2.0; triangles derived by scripts/face_mesh_topology.py",
                "vertices": 468, "triangles": [list(t) for t in faces], "outline": loops[0], "holes": loops[1:]}
    tmp = OUT.with_name(f".{OUT.name}.tmp")
    tmp.write_text(json.dumps(topology, separators=(",", ":")) + "\n")
    os.replace(tmp, OUT)
    print(f"{OUT}: {len(faces)} triangles, holes of {[len(h) for h in loops]} vertices")


if __name__ == "__main__":
    main()
