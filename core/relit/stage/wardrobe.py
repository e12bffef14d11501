"""What a stage person wears beyond the plain shirt: patterned and dark fabrics, a shirt collar and tie, a
jacket, glasses, a hat; and a beard. Real plates are full of these, and mattes hole where they meet the
body (a tie on a shirt, a dark jacket on a dark background), so the stage renders them.

Garments are meshes in the person's body frame, built from the posed mesh (offset shells of its clothed
or scalp triangles, strips that follow its chest) or placed in its head frame (glasses), so they follow
pose and build. All are the engine's material model (``sample.plastic``) with fabric's F0, which keeps
them out of the evaluation's skin mask. Glasses are frames only: a lens would put its own normals and
reflections in front of the eyes, which no pass can describe both of.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .look import Look
from .person import REGIONS, HeadFrame, Person, head_frame, vertex_normals

PATTERN_SIZE = 512
# share of dressed people with each item (a jacket, tie and collar go together: no tie without a collar)
CHANCE = {"collar": 0.6, "tie": 0.5, "jacket": 0.45, "glasses": 0.3, "hat": 0.15, "beard": 0.5, "pattern": 0.5,
          "dark": 0.25}
PATTERNS = ("stripes", "checks", "print", "heather")
# style: (chance among beards, shortest and longest hair in metres, strands)
BEARDS = {"stubble": (0.4, 0.0015, 0.003, 9000), "short": (0.35, 0.005, 0.012, 7000),
          "full": (0.25, 0.02, 0.045, 6000)}
GARMENT_F0 = 0.04  # fabric and acetate (index 1.5): as the stage's shirt
DARKEST = 0.015  # albedo of black cloth, per channel: the stage's diffuse pass is light / albedo above 0.005
STREAM = 0x3A4D  # the wardrobe's draws come from a generator of their own: a seed's person is the same dressed


@dataclass
class Mesh:
    vertices: np.ndarray  # (V, 3) float32, body frame
    faces: np.ndarray  # (F, 3) int32
    uvs: np.ndarray  # (F, 3, 2) float32 per corner
    normals: np.ndarray  # (V, 3)


@dataclass
class Garment:
    name: str  # its region in the render
    mesh: Mesh
    albedo: np.ndarray  # one linear Rec.709 colour (3,) or a map (H, W, 3) in the mesh's UVs
    roughness: float

    def __post_init__(self) -> None:
        self.albedo = np.clip(self.albedo, DARKEST, 0.9).astype(np.float32)


@dataclass
class Wardrobe:
    garments: list[Garment] = field(default_factory=list)
    shirt: np.ndarray | None = None  # a colour, or a patterned albedo map in anny's UVs; None: the look's
    beard: np.ndarray = field(default_factory=lambda: np.zeros((0, 3, 3), np.float32))  # strands
    hat_line: tuple[float, float] | None = None  # (height at the brow, drop to the back) in the head frame
    frame: HeadFrame | None = None  # the head's, where a hat sits
    params: dict = field(default_factory=dict)

    def visible_hair(self, strands: np.ndarray) -> np.ndarray:
        """The hair that shows: strands growing under the hat are gone (it holds them)."""
        if self.hat_line is None or self.frame is None or not len(strands):
            return strands
        return strands[~_under_hat(self.frame.local(strands[:, 0]), self.hat_line)]


def sample_wardrobe(seed: int, person: Person, look: Look, share: float) -> Wardrobe:
    """What a seed's person wears: nothing beyond the look's shirt, or (``share`` of people) the items of
    ``draw_items``. With a share of 0 nothing is drawn at all."""
    from .hair import beard
    rng = np.random.default_rng([seed, STREAM])
    if not share or rng.uniform() >= share:
        return Wardrobe(params={"items": []})
    drawn = draw_items(rng, person.params["phenotype"]["gender"])
    frame = head_frame(person)
    wardrobe = Wardrobe(frame=frame, params={"items": sorted(k for k, v in drawn.items() if v)})
    shirt = np.asarray(look.cloth) * (rng.uniform(0.08, 0.3) if drawn["dark"] else 1.0)
    if drawn["pattern"]:
        kind = str(rng.choice(PATTERNS))
        wardrobe.params["pattern"] = kind
        wardrobe.shirt = fabric(rng, shirt, kind)
    elif drawn["dark"]:
        wardrobe.shirt = np.clip(shirt, DARKEST, 0.9).astype(np.float32)
    shirt_albedo = wardrobe.shirt if wardrobe.shirt is not None else np.asarray(look.cloth, np.float32)
    neck = _neckline(person)
    if drawn["collar"]:
        wardrobe.garments.append(Garment("collar", collar(person, neck, rng), shirt_albedo, look.cloth_roughness))
    if drawn["tie"]:
        colour = rng.uniform(0.02, 0.5, 3) ** 1.5
        albedo = fabric(rng, colour, str(rng.choice(("stripes", "print", "heather"))), diagonal=True)
        wardrobe.garments.append(Garment("tie", tie(person, neck, rng), albedo, float(rng.uniform(0.3, 0.6))))
    if drawn["jacket"]:
        colour = rng.uniform(0.01, 0.35, 3) ** 1.3 * (0.3 if rng.uniform() < 0.5 else 1.0)  # half are dark suits
        albedo = fabric(rng, colour, str(rng.choice(("heather", "stripes")))) if rng.uniform() < 0.4 else colour
        wardrobe.garments.append(Garment("jacket", jacket(person, neck, rng), albedo, float(rng.uniform(0.55, 0.9))))
    if drawn["glasses"]:
        colour = rng.uniform(0.01, 0.4, 3) ** 1.5
        wardrobe.garments.append(Garment("glasses", glasses(person, frame, rng), colour,
                                         float(rng.uniform(0.15, 0.4))))
    if drawn["hat"]:
        wardrobe.hat_line = (float(rng.uniform(0.045, 0.06)), float(rng.uniform(0.03, 0.06)))
        colour = rng.uniform(0.02, 0.6, 3) ** 1.4
        shell, brim = hat(person, frame, wardrobe.hat_line, rng)
        wardrobe.garments.append(Garment("hat", shell, colour, float(rng.uniform(0.6, 0.95))))
        if brim is not None:
            wardrobe.garments.append(Garment("brim", brim, colour, float(rng.uniform(0.6, 0.95))))
    if drawn["beard"]:
        chance = np.array([b[0] for b in BEARDS.values()])
        style = str(rng.choice(list(BEARDS), p=chance / chance.sum()))
        wardrobe.params["beard"] = style
        _, short, long, count = BEARDS[style]
        wardrobe.beard = beard(person, frame, rng, count, (short, long))
    wardrobe.params["roughness"] = {g.name: g.roughness for g in wardrobe.garments}
    return wardrobe


def draw_items(rng: np.random.Generator, gender: float) -> dict[str, bool]:
    """Which items one dressed person has: each with its CHANCE, a tie only with a collar, a beard only
    where anny's gender leans male."""
    drawn = {item: bool(rng.uniform() < chance) for item, chance in CHANCE.items()}
    drawn["tie"] &= drawn["collar"]
    drawn["beard"] &= gender > 0.5
    return drawn


def fabric(rng: np.random.Generator, colour: np.ndarray, kind: str, diagonal: bool = False) -> np.ndarray:
    """A woven or printed pattern around ``colour`` as an albedo map (PATTERN_SIZE², 3): stripes, checks, a
    print of blobs, or heather (fine fibre noise). ``diagonal`` turns stripes 45° (a tie's)."""
    from .look import value_noise
    size = PATTERN_SIZE
    v, u = np.mgrid[0:size, 0:size] / size
    other = rng.uniform(0.02, 0.8, 3) ** 1.4
    if kind == "heather":
        grain = 1 + 0.25 * value_noise(rng, size, (128, 256))
        return np.clip(colour * grain[..., None], DARKEST, 0.9).astype(np.float32)
    period = rng.uniform(0.01, 0.05)
    along = (u + v) / math.sqrt(2) if diagonal else (u if rng.uniform() < 0.5 else v)
    duty = rng.uniform(0.15, 0.5)
    mix = ((along / period) % 1 < duty).astype(np.float32)
    if kind == "checks":
        across = v if along is u else u
        mix = np.maximum(mix, ((across / period) % 1 < duty).astype(np.float32) * 0.6)
    elif kind == "print":
        mix = (value_noise(rng, size, (int(rng.integers(24, 64)),)) > 0.35).astype(np.float32)
    out = colour * (1 - mix[..., None]) + other * mix[..., None]
    return np.clip(out, DARKEST, 0.9).astype(np.float32)


def _neckline(person: Person) -> float:
    """The height where the shirt meets the neck (body frame, arms down: a raised sleeve is no neckline)."""
    cloth = person.rest[person.faces[person.region == REGIONS.index("cloth")]].mean(axis=1)
    near = cloth[np.abs(cloth[:, 0]) < 0.1]
    return float(np.percentile(near[:, 1], 99.5))


def _submesh(person: Person, triangles: np.ndarray) -> tuple[Mesh, np.ndarray]:
    """The triangles as a mesh of their own, and its vertices with the arms down (where a garment is cut)."""
    used, faces = np.unique(person.faces[triangles], return_inverse=True)
    return Mesh(person.vertices[used].copy(), faces.reshape(-1, 3).astype(np.int32),
                person.uvs[triangles].copy(), person.normals[used].copy()), person.rest[used]


def _cut(mesh: Mesh, value: np.ndarray) -> Mesh:
    """The part of the mesh where the per-vertex ``value`` is >= 0, triangles split along its zero line,
    so a garment's edge is a smooth curve and not the staircase of whole triangles."""
    v = value[mesh.faces]  # (F, 3)
    inside = v >= 0
    count = inside.sum(axis=1)
    keep = count == 3
    faces, uvs = [mesh.faces[keep]], [mesh.uvs[keep]]
    vertices, normals = [mesh.vertices], [mesh.normals]
    base = len(mesh.vertices)
    for lone_inside in (True, False):  # one corner inside (a triangle stays) or one outside (a quad)
        pick = np.flatnonzero(count == (1 if lone_inside else 2))
        if not len(pick):
            continue
        lone = np.argmax(inside[pick] == lone_inside, axis=1)  # the odd corner, then the others in winding order
        order = (lone[:, None] + np.arange(3)[None, :]) % 3
        corner = np.take_along_axis(mesh.faces[pick], order, axis=1)
        uv = np.take_along_axis(mesh.uvs[pick], order[..., None], axis=1)
        val = np.take_along_axis(v[pick], order, axis=1)
        t = val[:, :1] / (val[:, :1] - val[:, 1:])  # along the odd corner's two edges, to the zero line
        points = mesh.vertices[corner[:, :1]] * (1 - t[..., None]) + mesh.vertices[corner[:, 1:]] * t[..., None]
        normal = mesh.normals[corner[:, :1]] * (1 - t[..., None]) + mesh.normals[corner[:, 1:]] * t[..., None]
        cross_uv = uv[:, :1] * (1 - t[..., None]) + uv[:, 1:] * t[..., None]
        n = len(pick)
        a, b = base + np.arange(n), base + n + np.arange(n)  # the crossings on edges (odd, next), (odd, last)
        vertices.append(np.concatenate([points[:, 0], points[:, 1]]))
        normals.append(np.concatenate([normal[:, 0], normal[:, 1]]))
        base += 2 * n
        if lone_inside:
            faces.append(np.stack([corner[:, 0], a, b], -1))
            uvs.append(np.stack([uv[:, 0], cross_uv[:, 0], cross_uv[:, 1]], 1))
        else:
            faces += [np.stack([a, corner[:, 1], corner[:, 2]], -1), np.stack([a, corner[:, 2], b], -1)]
            uvs += [np.stack([cross_uv[:, 0], uv[:, 1], uv[:, 2]], 1),
                    np.stack([cross_uv[:, 0], uv[:, 2], cross_uv[:, 1]], 1)]
    normal = np.concatenate(normals)
    return Mesh(np.concatenate(vertices).astype(np.float32), np.concatenate(faces).astype(np.int32),
                np.concatenate(uvs).astype(np.float32),
                (normal / np.linalg.norm(normal, axis=1, keepdims=True)).astype(np.float32))


def _inflated(mesh: Mesh, offset: np.ndarray) -> Mesh:
    """The mesh pushed out along its normals by ``offset`` (metres, per vertex), normals recomputed."""
    vertices = (mesh.vertices + mesh.normals * offset[:, None]).astype(np.float32)
    return Mesh(vertices, mesh.faces, mesh.uvs, vertex_normals(vertices, mesh.faces))


def collar(person: Person, neck: float, rng: np.random.Generator) -> Mesh:
    """A shirt collar: a band of the neck just above the neckline, standing off it, open at the front."""
    centre = person.rest[person.faces].mean(axis=1)  # a hand raised to the chin is no part of the neck
    height, gap = rng.uniform(0.03, 0.045), rng.uniform(0.008, 0.03)
    near = (person.region == REGIONS.index("skin")) & (centre[:, 1] > neck - 0.03) & \
        (centre[:, 1] < neck + height + 0.02) & (np.abs(centre[:, 0]) < 0.1)
    mesh, rest = _submesh(person, np.flatnonzero(near))
    x, y, z = rest.T
    opening = np.where(z > 0, np.abs(x) - gap, 1.0)
    mesh = _cut(mesh, np.minimum.reduce([y - (neck - 0.01), neck + height - y, opening]))
    return _inflated(mesh, np.full(len(mesh.vertices), rng.uniform(0.004, 0.007), np.float32))


def jacket(person: Person, neck: float, rng: np.random.Generator) -> Mesh:
    """A jacket: the clothed body's shell, a little off it, open in a V down the front to the buttons."""
    depth, width = rng.uniform(0.2, 0.32), rng.uniform(0.05, 0.09)
    mesh, rest = _submesh(person, np.flatnonzero(person.region == REGIONS.index("cloth")))
    x, y, z = rest.T  # cut on the arms-down body: a folded forearm crossing the V stays sleeve
    v_half = width * np.clip((y - (neck - depth)) / depth, 0, 1)
    mesh = _cut(mesh, np.where(z > np.median(z), np.abs(x) - v_half, 1.0))
    return _inflated(mesh, np.full(len(mesh.vertices), rng.uniform(0.012, 0.02), np.float32))


def _slab(front: np.ndarray, thickness: float, back: np.ndarray) -> Mesh:
    """A closed thin plate from a grid of points (n, m, 3) on its front face: the front, a back face
    ``thickness`` along ``back``, and the four edges; each face its own vertices, so edges stay sharp."""
    n, m, _ = front.shape
    rear = front + thickness * back
    i, j = np.mgrid[0:n - 1, 0:m - 1]
    quads = np.stack([i * m + j, (i + 1) * m + j, (i + 1) * m + j + 1, i * m + j + 1], -1).reshape(-1, 4)
    uv = np.stack(np.meshgrid(np.linspace(0, 1, m), np.linspace(0, 1, n)), -1).reshape(-1, 2)
    parts = [(front.reshape(-1, 3), quads, uv), (rear.reshape(-1, 3), quads[:, ::-1], uv)]
    for edge in (front[0], front[:, -1], front[-1, ::-1], front[::-1, 0]):  # around the border, one way
        strip = np.stack([edge, edge + thickness * back], axis=1)  # (k, 2, 3)
        k = len(edge)
        q = np.stack([np.arange(k - 1) * 2, np.arange(1, k) * 2, np.arange(1, k) * 2 + 1,
                      np.arange(k - 1) * 2 + 1], -1)  # wound so that the edge's normal points out
        parts.append((strip.reshape(-1, 3), q, np.zeros((2 * k, 2))))
    vertices, faces, uvs, normals, base = [], [], [], [], 0
    for points, q, corner_uv in parts:
        tri = np.concatenate([q[:, [0, 1, 2]], q[:, [0, 2, 3]]])
        vertices.append(points)
        normals.append(vertex_normals(points.astype(np.float32), tri))
        faces.append(tri + base)
        uvs.append(corner_uv[tri])
        base += len(points)
    v = np.concatenate(vertices).astype(np.float32)
    return Mesh(v, np.concatenate(faces).astype(np.int32), np.concatenate(uvs).astype(np.float32),
                np.concatenate(normals).astype(np.float32))


def _front_surface(points: np.ndarray, body: np.ndarray, radius: float = 0.012) -> np.ndarray:
    """How far forward (+Z) the body reaches near each (x, y) of ``points``: the highest Z of body
    vertices within ``radius`` (or -inf where none)."""
    from scipy.spatial import cKDTree
    tree = cKDTree(body[:, :2])
    out = np.full(len(points), -np.inf)
    for k, near in enumerate(tree.query_ball_point(points[:, :2], radius)):
        if near:
            out[k] = body[near, 2].max()
    return out


def tie(person: Person, neck: float, rng: np.random.Generator) -> Mesh:
    """A necktie down the chest's midline, lying on the shirt (and the collar's gap at its knot): a narrow
    knot, a blade widening to its pointed tip, as a thin plate."""
    length, blade, knot = rng.uniform(0.38, 0.5), rng.uniform(0.065, 0.09), rng.uniform(0.032, 0.042)
    s = np.linspace(0, 1, 40)[:, None]  # from the knot's top down the tie
    t = np.linspace(-1, 1, 7)[None, :]
    half = np.where(s < 0.1, knot / 2, knot / 2 * 0.8 + (blade - knot * 0.8) / 2 * (s - 0.1) / 0.9)
    x = t * half
    y = neck + 0.02 - s * length - (blade / 2) * (1 - np.abs(t)) * (s > 0.99)  # the tip's point
    grid = np.stack([x, y, np.zeros_like(x)], -1)
    body = person.rest  # the chest with the arms down: a tie lies on it, under folded or raised arms
    z = _front_surface(grid.reshape(-1, 3), body[body[:, 2] > 0]).reshape(x.shape)
    z = z.max(axis=1, keepdims=True)  # flat across
    z = np.maximum.accumulate(np.where(np.isfinite(z), z, z[np.isfinite(z)].min()), axis=0)  # hanging
    grid[..., 2] = z + np.where(s < 0.1, 0.012, 0.005)  # the knot stands out further
    return _slab(grid.astype(np.float32), 0.004, np.array([0.0, 0.0, -1.0]))


def _under_hat(local: np.ndarray, line: tuple[float, float]) -> np.ndarray:
    """Head-frame points above the hat's lower edge: ``line[0]`` above the eyes at the brow, falling by
    ``line[1]`` toward the back of the head; the ears stay out."""
    right, up, forward = local[..., 0], local[..., 1], local[..., 2]
    edge = line[0] - line[1] * np.clip(-forward / 0.12, 0, 1)
    ears = (np.abs(right) > 0.06) & (up < 0.03)
    return (up > edge) & ~ears


def hat(person: Person, frame: HeadFrame, line: tuple[float, float], rng: np.random.Generator
        ) -> tuple[Mesh, Mesh | None]:
    """A knitted hat over the head above ``line`` (``_under_hat``), thickening from nothing at its edge to
    cover the hair, and half the time a cap's brim over the brow."""
    centre = frame.local(person.rest[person.faces].mean(axis=1))
    head = (person.region == REGIONS.index("skin")) & (centre[:, 1] > -0.05) & (np.abs(centre[:, 0]) < 0.11)
    mesh, _ = _submesh(person, np.flatnonzero(head & _under_hat(centre, line)))
    local = frame.local(mesh.vertices)
    edge = line[0] - line[1] * np.clip(-local[:, 2] / 0.12, 0, 1)
    thickness = rng.uniform(0.012, 0.025) * np.clip((local[:, 1] - edge) / 0.03, 0, 1) ** 0.5
    shell = _inflated(mesh, thickness.astype(np.float32))
    if rng.uniform() < 0.5:
        return shell, None
    reach, tilt = rng.uniform(0.05, 0.075), rng.uniform(0.1, 0.35)
    rim = frame.local(shell.vertices)
    rim = rim[np.abs(rim[:, 1] - line[0]) < 0.012]
    axis = (rim[:, 2].max() + rim[:, 2].min()) / 2  # the head's vertical axis, on the forward line
    angle = np.linspace(-1.2, 1.2, 17)
    bearing = np.arctan2(rim[:, 0], rim[:, 2] - axis)
    inner = np.array([np.hypot(rim[near, 0], rim[near, 2] - axis).max() if (near := np.abs(bearing - a) < 0.15).any()
                      else 0.09 for a in angle])
    r = inner[None, :] + np.linspace(-0.3, 1, 8)[:, None] * reach * np.cos(angle)[None, :] ** 0.5
    out = np.maximum(r - inner[None, :], 0)  # starting inside the hat: no gap at its root
    grid = np.stack([np.sin(angle) * r, line[0] + 0.004 - tilt * out, axis + np.cos(angle) * r], -1)
    brim = frame.body(grid)
    return shell, _slab(brim, 0.004, -frame.up)


def _tube(points: np.ndarray, radius: float, closed: bool, sides: int = 8) -> Mesh:
    """A round tube of ``radius`` along a polyline (n, 3), joined back to its start if ``closed``."""
    tangent = np.roll(points, -1, 0) - np.roll(points, 1, 0)
    if not closed:
        tangent[0], tangent[-1] = points[1] - points[0], points[-1] - points[-2]
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    helper = np.where(np.abs(tangent[:, 1:2]) < 0.9, [[0.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]])
    side = np.cross(tangent, helper)
    side /= np.linalg.norm(side, axis=1, keepdims=True)
    other = np.cross(tangent, side)
    a = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    ring = np.cos(a)[None, :, None] * side[:, None] + np.sin(a)[None, :, None] * other[:, None]  # (n, s, 3)
    n = len(points)
    i, j = np.mgrid[0:n if closed else n - 1, 0:sides]
    a0, a1, b0, b1 = i * sides + j, i * sides + (j + 1) % sides, (i + 1) % n * sides + j, \
        (i + 1) % n * sides + (j + 1) % sides
    faces = np.concatenate([np.stack([a0, b1, b0], -1).reshape(-1, 3), np.stack([a0, a1, b1], -1).reshape(-1, 3)])
    normals = ring.reshape(-1, 3).astype(np.float32)
    vertices = (points[:, None] + radius * ring).reshape(-1, 3).astype(np.float32)
    return Mesh(vertices, faces.astype(np.int32), np.zeros((len(faces), 3, 2), np.float32), normals)


def _joined(meshes: list[Mesh]) -> Mesh:
    base = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    return Mesh(np.concatenate([m.vertices for m in meshes]),
                np.concatenate([m.faces + b for m, b in zip(meshes, base)]).astype(np.int32),
                np.concatenate([m.uvs for m in meshes]), np.concatenate([m.normals for m in meshes]))


def glasses(person: Person, frame: HeadFrame, rng: np.random.Generator) -> Mesh:
    """Spectacle frames: two rims (rounded rectangles to ovals) before the eyes, kept clear of the face,
    a bridge over the nose, and arms back to the ears along the head's sides."""
    radius = rng.uniform(0.0012, 0.0028)
    half_w, half_h, square = rng.uniform(0.022, 0.028), rng.uniform(0.015, 0.022), rng.uniform(2.2, 5.0)
    ahead, drop = rng.uniform(0.01, 0.016), rng.uniform(-0.002, 0.004)
    skin = frame.local(person.rest[np.unique(person.faces[person.region == REGIONS.index("skin")])])
    face = skin[(skin[:, 2] > -0.03) & (np.abs(skin[:, 1]) < 0.06)]
    corneas = frame.local(person.rest[person.faces[person.region == REGIONS.index("eye_front")]].mean(axis=1))
    eye_x = float(np.abs(corneas[:, 0]).mean())
    a = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    c, s = np.cos(a), np.sin(a)
    parts, rims = [], []
    for side in (-1.0, 1.0):
        cx = side * (eye_x + 0.002)
        x = cx + half_w * np.sign(c) * np.abs(c) ** (2 / square)
        y = -drop + half_h * np.sign(s) * np.abs(s) ** (2 / square)
        rim = np.stack([x, y, np.zeros_like(x)], -1)
        clear = _front_surface(rim, face, 0.004)
        rim[:, 2] = np.maximum(ahead, np.where(np.isfinite(clear), clear, -1) + radius + 0.003)
        rim[:, 2] = np.maximum(rim[:, 2], rim[:, 2].max() - 0.006)  # a rim is nearly flat
        rims.append(rim)
        parts.append(_tube(frame.body(rim), radius, closed=True))
        outer = rim[np.argmax(side * rim[:, 0])]
        level = face[np.abs(face[:, 1] - outer[1]) < 0.01]
        temple = np.abs(level[:, 0]).max() + radius + 0.003 if len(level) else abs(outer[0]) + 0.01
        arm = np.array([outer, [side * temple, outer[1], outer[2] - 0.015],
                        [side * temple, outer[1] + 0.002, outer[2] - 0.09],
                        [side * (temple - 0.005), outer[1] - 0.02, outer[2] - 0.11]])
        parts.append(_tube(frame.body(arm), radius * 0.8, closed=False))
    left = rims[0][np.argmax(rims[0][:, 0] + rims[0][:, 1])]  # each rim's upper inner corner
    right = rims[1][np.argmax(rims[1][:, 1] - rims[1][:, 0])]
    mid = (left + right) / 2 + np.array([0.0, 0.004, 0.004])
    bridge = np.stack([left, mid, right])
    clear = _front_surface(bridge, face, 0.004)
    bridge[:, 2] = np.maximum(bridge[:, 2], np.where(np.isfinite(clear), clear, -1) + radius + 0.002)
    parts.append(_tube(frame.body(bridge), radius, closed=False))
    return _joined(parts)
