import numpy as np

from relit.priors import compute_priors
from relit.priors.face import Detection, Face
from relit.priors.smoothing import FRAME_TIME, VELOCITY_SCALE, LandmarkFilter, face_size

from .test_mediapipe_onnx import PHOTOS
from .test_priors import _photo


def _face(landmarks: np.ndarray) -> Face:
    box = np.float32([*landmarks[:, :2].min(axis=0), *landmarks[:, :2].max(axis=0)])
    return Face(landmarks.astype(np.float32), 1.0, Detection(box, landmarks[:6, :2].astype(np.float32), 1.0))


def _grid(centre: tuple[float, float], size: float = 100.0) -> np.ndarray:
    """468 points spread over a square face of ``size`` pixels around ``centre``, z 0."""
    rng = np.random.default_rng(0)
    points = rng.random((468, 3)) * [size, size, 0] + [centre[0] - size / 2, centre[1] - size / 2, 0]
    points[:4, :2] = [[-1, -1], [1, -1], [-1, 1], [1, 1]]
    points[:4, :2] = points[:4, :2] * size / 2 + centre  # its box is exactly the size
    return points


def test_a_still_face_s_jitter_is_smoothed_and_its_first_frame_kept():
    rng = np.random.default_rng(1)
    still = _grid((200, 150))
    steady = LandmarkFilter()
    raw = [still + rng.normal(0, 1.0, still.shape) * [1, 1, 1] for _ in range(30)]
    out = [steady([_face(r)])[0].landmarks for r in raw]
    np.testing.assert_array_equal(out[0], raw[0].astype(np.float32))
    jitter_in = np.mean([np.abs(b - a).mean() for a, b in zip(raw[10:], raw[11:])])
    jitter_out = np.mean([np.abs(b - a).mean() for a, b in zip(out[10:], out[11:])])
    # a pixel of noise on a 100-pixel face, summed over six frames, is a velocity of about 0.4 face sizes a
    # second: the new value weighs about 0.85 at most, and the signed sum often cancels; measured 0.43x
    assert jitter_out < 0.6 * jitter_in, (jitter_out, jitter_in)
    assert np.abs(np.mean(out[10:], axis=0) - still).mean() < 0.5  # smoothed about the face, not pulled away


def test_a_moving_face_is_followed_with_the_lag_mediapipe_s_filter_gives():
    steady = LandmarkFilter()
    step = 4.0  # pixels a frame on a 100-pixel face
    for k in range(20):
        moved = _grid((100 + step * k, 150))
        face = steady([_face(moved)])[0]
    assert face_size(moved) == 100.0
    new = 1 - 1 / (1 + VELOCITY_SCALE * step / 100 / FRAME_TIME)  # the new value's weight at a steady speed
    lag = step * (1 - new) / new  # an exponential filter's steady lag
    np.testing.assert_allclose(moved[:, 0] - face.landmarks[:, 0], lag, rtol=1e-3)
    assert np.all(np.abs(face.landmarks[:, 1] - moved[:, 1]) < 1e-3)
    # the detection (which places the face's crop) moves with the landmarks
    np.testing.assert_allclose(_face(moved).detection.box[[0, 2]] - face.detection.box[[0, 2]], lag, rtol=1e-3)
    np.testing.assert_allclose(moved[:6, 0] - face.detection.keypoints[:, 0], lag, rtol=1e-3)


def test_faces_keep_their_tracks_when_their_order_changes_and_a_new_face_starts_afresh():
    steady = LandmarkFilter()
    left, right = _grid((100, 100)), _grid((400, 100))
    steady([_face(left), _face(right)])
    out = steady([_face(right + [2, 0, 0]), _face(left + [2, 0, 0]), _face(_grid((250, 300)))])
    for face, before in zip(out, (right, left)):  # each moved part of the way from its own track's place
        assert before[:, 0].mean() < face.landmarks[:, 0].mean() < before[:, 0].mean() + 2
    np.testing.assert_array_equal(out[2].landmarks, _grid((250, 300)).astype(np.float32))


def test_a_face_whose_change_is_not_explained_starts_afresh():
    steady = LandmarkFilter()
    face = _grid((200, 150))
    steady([_face(face)])
    moved = face + [3, 0, 0]
    seen = []
    out = steady([_face(moved)], lambda then, now: seen.append((then, now)) or False)[0]
    np.testing.assert_array_equal(out.landmarks, moved.astype(np.float32))  # as it is
    assert steady.continued == [False] and np.array_equal(seen[0][0], face.astype(np.float32))
    again = steady([_face(moved + [3, 0, 0])])[0]  # the new track goes on from the face as it was taken
    assert steady.continued == [True] and moved[:, 0].mean() < again.landmarks[:, 0].mean() < moved[:, 0].mean() + 3


def test_compute_priors_steadies_a_sequence_s_faces():
    photo = _photo(PHOTOS[0])
    steady = LandmarkFilter()
    first = compute_priors(photo, steady=steady).faces[0].landmarks
    shifted = photo.__class__(np.roll(photo.pixels, 3, axis=1), photo.colourspace, photo.config)
    raw = compute_priors(shifted).faces[0].landmarks
    out = compute_priors(shifted, steady=steady).faces[0].landmarks
    between = (out[:, 0] - first[:, 0]) / (raw[:, 0] - first[:, 0])
    assert 0.05 < np.median(between) < 0.95  # part of the way: filtered, neither held nor raw
