"""Chroma smoothing of colorizations: colour follows brightness edges, brightness is kept."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from clean_fixtures import clean_models  # noqa: F401
from denoisekit.chroma import (CHROMA_KNEE, CHROMA_MAP_KEY, DEFAULT_CHROMA_CAP, calibrate_chroma, fit_chroma_map,
                               fit_gamut, map_chroma, smooth_chroma)
from denoisekit.images import to_gray


def colour_image(luma: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """An RGB image with the given BT.601 luma: ``chroma`` (H, W, 3) is made luma-free first."""
    chroma = chroma - to_gray(chroma.astype(np.float32))
    return (luma + chroma).astype(np.float32)


def test_blotches_in_a_flat_region_are_averaged_and_the_luma_is_kept():
    rng = np.random.default_rng(0)
    luma = np.full((96, 80, 1), 0.5, np.float32)
    rgb = colour_image(luma, rng.normal(0, 0.05, (96, 80, 3)))
    before = rgb - luma
    after = smooth_chroma(luma, rgb.copy(), radius=8) - luma
    assert after.std() < before.std() / 5
    # The filter is linear in the chroma for a fixed guide: brightness is untouched.
    np.testing.assert_allclose(to_gray(luma + after), luma, atol=1e-5)


def test_a_colour_edge_on_a_brightness_edge_survives():
    luma = np.full((64, 64, 1), 0.35, np.float32)
    luma[:, 32:] = 0.75
    chroma = np.zeros((64, 64, 3), np.float32)
    chroma[:, :32] = (-0.1, 0.0, 0.15)  # bluish where dark
    chroma[:, 32:] = (0.15, 0.02, -0.1)  # orange where bright
    rgb = colour_image(luma, chroma)
    out = smooth_chroma(luma, rgb.copy(), radius=8)
    # Three pixels either side of the edge keep most of their own side's colour, where plain
    # averaging over the same window would keep under half (12 own pixels against 5 opposite).
    for column in (29, 34):
        kept = (out[:, column] - luma[:, column]) / (rgb[:, column] - luma[:, column])
        assert kept.min() > 0.7


def test_strips_give_the_same_result_as_the_whole_image():
    rng = np.random.default_rng(1)
    luma = rng.random((150, 40, 1)).astype(np.float32)
    rgb = np.clip(luma + rng.normal(0, 0.1, (150, 40, 3)), 0, 1).astype(np.float32)
    whole = smooth_chroma(luma, rgb.copy(), radius=5, strip=10_000)
    for strip in (1, 7, 64):
        np.testing.assert_array_equal(smooth_chroma(luma, rgb.copy(), radius=5, strip=strip), whole)


@pytest.mark.slow
@pytest.mark.parametrize("radius", [0, 4])
def test_colorize_restorer_smooths_its_chroma_unless_told_not_to(clean_models, radius):
    from denoisekit.plugins import restorer

    rng = np.random.default_rng(2)
    gray = rng.random((40, 48, 1)).astype(np.float32)
    raw = restorer("model").obj.make(model=str(clean_models.colorize), chroma_radius=0, chroma_gain=1.0,
                                      chroma_cap=0)(gray)
    out = restorer("model").obj.make(model=str(clean_models.colorize), chroma_radius=radius, chroma_gain=1.0,
                                      chroma_cap=0)(gray)
    if radius == 0:
        np.testing.assert_array_equal(out, raw)
    else:
        expected = smooth_chroma(to_gray(np.repeat(gray, 3, axis=-1)), raw.copy(), radius)
        np.testing.assert_allclose(out, expected, atol=1e-6)
        roughness = lambda img: np.abs(np.diff(img - gray, axis=1)).mean()  # noqa: E731
        assert roughness(out) < roughness(raw)


@pytest.mark.slow
def test_colorize_keeps_the_chroma_gain_share_of_the_predicted_colour(clean_models):
    from denoisekit.plugins import restorer

    gray = np.random.default_rng(4).random((40, 48, 1)).astype(np.float32)
    made = {gain: restorer("model").obj.make(model=str(clean_models.colorize), chroma_radius=0, chroma_gain=gain,
                                             chroma_cap=0)(gray)
            for gain in (0.0, 0.5, 1.0)}
    luma = to_gray(np.repeat(gray, 3, axis=-1))
    np.testing.assert_allclose(made[0.0], np.repeat(luma, 3, axis=-1), atol=1e-6)  # no colour: the gray input
    assert np.abs(made[1.0] - luma).mean() > 1e-3  # the tiny test model does predict some colour
    np.testing.assert_allclose(made[0.5], (made[0.0] + made[1.0]) / 2, atol=1e-5)  # half of it
    # clean's default: the whole colour, capped (test_chroma_cap_...)
    default = restorer("model").obj.make(model=str(clean_models.colorize), chroma_radius=0)
    assert (default.chroma_gain, default.chroma_cap) == (1.0, DEFAULT_CHROMA_CAP)
    capped = default(gray)
    np.testing.assert_allclose(capped, calibrate_chroma(luma, made[1.0].copy()), atol=1e-6)
    assert np.abs(capped - np.repeat(luma, 3, axis=-1)).max() <= DEFAULT_CHROMA_CAP + 1e-6


def test_chroma_cap_keeps_hue_and_brightness_and_bounds_the_colour():
    rng = np.random.default_rng(5)
    luma = rng.uniform(0.3, 0.7, (20, 30, 1)).astype(np.float32)
    chroma = rng.normal(0, 0.1, (20, 30, 3)).astype(np.float32)
    chroma -= to_gray(chroma)  # a pure colour difference: brightness stays the luma's
    rgb = luma + chroma
    cap, knee = 0.12, 0.1  # a cap above the knee strengthens faint colours
    out = calibrate_chroma(luma, rgb.copy(), gain=1.0, cap=cap, knee=knee)
    length, new = np.linalg.norm(chroma, axis=-1), np.linalg.norm(out - luma, axis=-1)
    np.testing.assert_allclose(new, cap * length / (length + knee), atol=1e-5)  # the mapping
    assert new.max() < cap  # never farther from gray than the cap
    faint = length < knee * (cap / knee - 1) * 0.9
    assert faint.any() and (new[faint] > length[faint]).all()  # a faint colour is strengthened
    cosine = np.einsum("hwc,hwc->hw", out - luma, chroma) / (new * length)
    np.testing.assert_allclose(cosine, 1.0, atol=1e-4)  # same hue
    np.testing.assert_allclose(to_gray(out), luma, atol=1e-5)  # same brightness
    np.testing.assert_array_equal(calibrate_chroma(luma, rgb.copy(), gain=1.0, cap=0), rgb)  # no cap: as it was
    np.testing.assert_allclose(calibrate_chroma(luma, rgb.copy(), gain=0.0, cap=cap), np.repeat(luma, 3, -1))
    # clean's default, chosen on validation with the bundled colorizer's map: every colour shrunk.
    default = np.linalg.norm(calibrate_chroma(luma, rgb.copy()) - luma, axis=-1)
    np.testing.assert_allclose(default, DEFAULT_CHROMA_CAP * length / (length + CHROMA_KNEE), atol=1e-5)
    assert (default < length).all()


def test_a_colour_too_strong_for_its_brightness_is_made_fainter_not_clipped():
    rng = np.random.default_rng(6)
    luma = rng.uniform(0.0, 1.0, (40, 50, 1)).astype(np.float32)
    luma[0, :5] = [[0.0], [1.0], [0.97], [0.02], [0.5]]  # black, white, near white, near black
    chroma = rng.normal(0, 0.2, (40, 50, 3)).astype(np.float32)
    chroma -= to_gray(chroma)
    rgb = luma + chroma
    assert (rgb < 0).any() and (rgb > 1).any()  # out of gamut somewhere
    out = fit_gamut(luma, rgb.copy())
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_allclose(to_gray(out), luma, atol=1e-5)  # brightness kept, where clipping would not
    assert np.abs(to_gray(np.clip(rgb, 0, 1)) - luma).max() > 0.05
    new = out - luma
    share = np.linalg.norm(new, axis=-1) / np.linalg.norm(chroma, axis=-1)
    assert (share <= 1 + 1e-5).all()
    np.testing.assert_allclose(new, chroma * share[..., None], atol=1e-5)  # same hue, only fainter
    inside = ((rgb >= 0) & (rgb <= 1)).all(axis=-1)
    np.testing.assert_allclose(out[inside], rgb[inside], atol=1e-6)  # colours that fit are kept
    np.testing.assert_allclose(out[0, :2], [[0, 0, 0], [1, 1, 1]], atol=1e-6)  # no colour at black or white


def test_opponent_colour_space_round_trips_and_splits_noise_independently():
    from denoisekit.opponent import from_opponent, to_opponent

    rng = np.random.default_rng(3)
    rgb = rng.random((50, 60, 3)).astype(np.float32)
    opp = to_opponent(rgb)
    assert opp.min() >= 0 and opp.max() <= 1
    np.testing.assert_allclose(from_opponent(opp), rgb, atol=1e-6)
    # Noise independent per RGB channel stays independent, at sigma/sqrt(3), /sqrt(2), *sqrt(6)/4.
    noise = to_opponent(rng.normal(0, 0.1, (400, 400, 3))) - to_opponent(np.zeros((400, 400, 3)))
    np.testing.assert_allclose(noise.reshape(-1, 3).std(0), [0.1 / 3 ** 0.5, 0.1 / 2 ** 0.5, 0.1 * 6 ** 0.5 / 4],
                               rtol=0.02)
    assert np.abs(np.corrcoef(noise.reshape(-1, 3).T) - np.eye(3)).max() < 0.02


def test_gray_model_restores_colour_in_the_opponent_space_when_asked(clean_models):
    from denoisekit.opponent import from_opponent, to_opponent
    from denoisekit.plugins import restorer

    rng = np.random.default_rng(4)
    rgb = rng.random((40, 48, 3)).astype(np.float32)
    per_rgb = restorer("model").obj.make(model=str(clean_models.gray))
    opponent = restorer("model").obj.make(model=str(clean_models.gray), color="opponent", chroma_scale=1,
                                          declip=False)
    out = opponent(rgb)
    expected = from_opponent(np.concatenate([per_rgb(to_opponent(rgb)[..., c:c + 1]) for c in range(3)], axis=-1))
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert opponent.notes == ["gray model gray.keras on RGB images: each opponent-colour channel "
                              "(mean, red-blue, green-magenta) restored on its own"]
    with pytest.raises(ValueError, match="color must be one of rgb, opponent"):
        restorer("model").obj.make(model=str(clean_models.gray), color="lab")


@pytest.mark.slow
def test_gaussian_task_restores_rgb_with_the_gray_model_per_opponent_channel_chroma_smaller_and_declipped(
        clean_models, tmp_path, monkeypatch):
    from denoisekit import modelio
    from denoisekit.declip import CORRECTION_SMOOTHING, declip, residual_sigma
    from denoisekit.inference import ModelRestore
    from denoisekit.opponent import from_opponent, to_opponent, upsample_chroma

    bundled = tmp_path / "bundled"
    bundled.mkdir()
    for task in ("gaussian", "salt-and-pepper"):
        (bundled / f"{task}-gray.keras").write_bytes(clean_models.gray.read_bytes())
        (bundled / f"{task}-color.keras").write_bytes(clean_models.color.read_bytes())
    monkeypatch.setattr(modelio, "BUNDLED_DIR", bundled)
    rng = np.random.default_rng(5)
    rgb = rng.random((41, 47, 3)).astype(np.float32)  # odd sizes: the chroma is padded to even, then cropped
    gray = ModelRestore(str(clean_models.gray))
    opponent = to_opponent(rgb)
    padded = np.pad(opponent[..., 1:], ((0, 1), (0, 1), (0, 0)), mode="edge")
    small = padded.reshape(21, 2, 24, 2, 2).mean(axis=(1, 3))  # block means: the chroma at half size
    chroma = np.stack([gray(small[..., c:c + 1])[..., 0] for c in range(2)], axis=-1)
    mean = gray(opponent[..., :1])
    restored = from_opponent(np.concatenate([mean, upsample_chroma(chroma, mean, 2)], axis=-1))

    task = ModelRestore("gaussian", chroma_scale=2)
    np.testing.assert_allclose(ModelRestore("gaussian", chroma_scale=2, declip=False)(rgb), restored, atol=1e-5)
    np.testing.assert_allclose(task(rgb), declip(restored, residual_sigma(rgb, restored), CORRECTION_SMOOTHING),
                               atol=1e-5)
    assert task.last_model == "gaussian-gray" and task.notes == []  # the colour model is not used
    blended = ModelRestore("gaussian", chroma_scale=2, rgb_share=0.25)(rgb)  # a share of the gray model per RGB channel
    np.testing.assert_allclose(blended, 0.75 * task(rgb) + 0.25 * gray(rgb), atol=1e-5)
    gray_image = rgb[..., :1]
    np.testing.assert_array_equal(task(gray_image), gray(gray_image))  # gray images: the gray model as it is
    # A bundled gaussian-chroma model restores the two chroma channels, at either size; the mean stays the gray model's.
    (bundled / "gaussian-chroma.keras").write_bytes(clean_models.other_gray.read_bytes())
    other = ModelRestore(str(clean_models.other_gray))
    for scale in (2, 1):
        plane = small if scale == 2 else opponent[..., 1:]
        chroma = np.stack([other(plane[..., c:c + 1])[..., 0] for c in range(2)], axis=-1)
        chroma = upsample_chroma(chroma, mean, scale) if scale > 1 else chroma
        expected = from_opponent(np.concatenate([mean, chroma], axis=-1))
        with_chroma = ModelRestore("gaussian", chroma_scale=scale, declip=False)
        np.testing.assert_allclose(with_chroma(rgb), expected, atol=1e-5)
        assert not np.allclose(with_chroma(rgb), ModelRestore(str(clean_models.gray), color="opponent",
                                                              chroma_scale=scale, declip=False)(rgb), atol=1e-3)
    (bundled / "gaussian-chroma.keras").unlink()
    # Impulses hit all channels of a pixel at once: salt-and-pepper stays in RGB, with its colour model.
    impulses = ModelRestore("salt-and-pepper", keep_untouched=False)
    np.testing.assert_array_equal(impulses(rgb), ModelRestore(str(clean_models.color))(rgb))
    assert impulses.last_model == "salt-and-pepper-color"


def test_half_size_chroma_comes_back_with_the_edges_it_shares_with_brightness():
    from denoisekit.opponent import block_means, upsample_chroma

    # A step of brightness and colour together (a yellow stripe on blue sky), at an odd column
    # so that the half-size images blur it, and an odd size so the result is cropped.
    height, width = 33, 41
    mean = np.full((height, width, 1), 0.3, np.float32)
    mean[:, 19:] = 0.7
    chroma = np.where(mean > 0.5, 0.65, 0.40).astype(np.float32) * np.ones((1, 1, 2), np.float32)
    small = block_means(chroma, 2)
    bilinear = cv2.resize(small, (42, 34), interpolation=cv2.INTER_LINEAR)[:height, :width]
    up = upsample_chroma(small, mean, 2)
    assert up.shape == (height, width, 2)
    assert np.abs(up - chroma).mean() < 0.25 * np.abs(bilinear - chroma).mean()  # the edge comes back sharp
    # A colour edge where brightness is flat: nothing to transfer, the bilinear result as it is.
    flat = np.full((height, width, 1), 0.5, np.float32)
    np.testing.assert_allclose(upsample_chroma(small, flat, 2), bilinear, atol=1e-6)


def test_the_chroma_is_restored_at_half_size_only_where_the_noise_makes_that_cost_nothing():
    from denoisekit.opponent import chroma_scale_for

    # Auto (0): full size below sigma 17, where half size lost 0.26-0.9 dB on the validation crops.
    assert [chroma_scale_for(sigma) for sigma in (0, 5, 15, 16.9, 17, 25, 50)] == [1, 1, 1, 1, 2, 2, 2]
    assert chroma_scale_for(5, scale=2) == 2 and chroma_scale_for(50, scale=1) == 1  # as asked


def random_colours(seed: int, shape=(30, 40)) -> tuple[np.ndarray, np.ndarray]:
    """(luma, RGB) with mid-range brightness and moderate colour, all inside [0, 1]."""
    rng = np.random.default_rng(seed)
    luma = rng.uniform(0.35, 0.65, (*shape, 1)).astype(np.float32)
    return luma, colour_image(luma, rng.normal(0, 0.05, (*shape, 3)).astype(np.float32))


def test_a_chroma_map_changes_colour_only_and_the_fit_recovers_a_known_map():
    luma, predicted = random_colours(7)
    known = [[0.5, -0.2], [0.1, 1.5], [0.01, -0.02]]  # rows: red chroma, blue chroma, 1
    true = map_chroma(luma, predicted.copy(), known)
    np.testing.assert_allclose(to_gray(true), luma, atol=1e-5)  # the brightness is the luma's
    chroma, before = true - luma, predicted - luma
    np.testing.assert_allclose(chroma[..., 0], 0.5 * before[..., 0] + 0.1 * before[..., 2] + 0.01, atol=1e-5)
    np.testing.assert_allclose(chroma[..., 2], -0.2 * before[..., 0] + 1.5 * before[..., 2] - 0.02, atol=1e-5)
    # Fitted from (prediction, truth) pairs spread over two images, the map comes back.
    luma2, predicted2 = random_colours(8)
    pairs = [(luma, predicted, true), (luma2, predicted2, map_chroma(luma2, predicted2.copy(), known))]
    np.testing.assert_allclose(fit_chroma_map(pairs), known, atol=1e-4)
    identity = [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    np.testing.assert_allclose(map_chroma(luma, predicted.copy(), identity), predicted, atol=1e-6)
    # Where the model is no guide (its colour unrelated to the truth), the fit turns the colour gray.
    unrelated = fit_chroma_map([(luma, predicted, colour_image(luma, np.zeros_like(predicted)))])
    np.testing.assert_allclose(unrelated, np.zeros((3, 2)), atol=1e-6)
    with pytest.raises(ValueError, match="no pixels"):
        fit_chroma_map([])


@pytest.mark.slow
def test_colorize_applies_the_models_own_chroma_map_unless_told_not_to(clean_models, tmp_path):
    from denoisekit.modelio import load_denoiser, update_metadata
    from denoisekit.plugins import restorer

    gray = np.random.default_rng(9).random((40, 48, 1)).astype(np.float32)
    make = restorer("model").obj.make
    raw = make(model=str(clean_models.colorize), chroma_cap=0)(gray)  # no map in this file: as predicted
    chroma_map = [[0.0, 0.5], [0.0, 0.5], [0.02, 0.0]]  # blue follows the model's red and blue, red a tint
    denoiser = load_denoiser(clean_models.colorize)
    update_metadata(denoiser.model, **{CHROMA_MAP_KEY: chroma_map})
    mapped_file = tmp_path / "mapped.keras"
    denoiser.model.save(mapped_file)
    luma = to_gray(np.repeat(gray, 3, axis=-1))
    mapped = make(model=str(mapped_file), chroma_cap=0)(gray)
    np.testing.assert_allclose(mapped, map_chroma(luma, raw.copy(), chroma_map), atol=1e-5)
    np.testing.assert_array_equal(make(model=str(mapped_file), chroma_cap=0, chroma_map=False)(gray), raw)


@pytest.mark.slow
def test_calibrate_colorizer_writes_a_copy_with_the_fitted_map(clean_models, tmp_path):
    import denoisekit
    from denoisekit.modelio import peek_metadata

    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in (10, 11):
        rgb = np.rint(random_colours(seed, (48, 64))[1] * 255).astype(np.uint8)
        cv2.imwrite(str(photos / f"p{seed}.png"), rgb[..., ::-1])
    cv2.imwrite(str(photos / "gray.png"), np.full((48, 64), 128, np.uint8))  # no colour to learn from
    out = tmp_path / "calibrated.keras"
    fitted = denoisekit.calibrate_colorizer(clean_models.colorize, [photos], out)
    assert peek_metadata(out)[CHROMA_MAP_KEY] == fitted and np.shape(fitted) == (3, 2)
    assert CHROMA_MAP_KEY not in peek_metadata(clean_models.colorize)  # the original is left as it was
    with pytest.raises(FileExistsError):
        denoisekit.calibrate_colorizer(clean_models.colorize, [photos], out)
    with pytest.raises(ValueError, match="no colour photographs"):
        denoisekit.calibrate_colorizer(clean_models.colorize, [photos / "gray.png"], out, overwrite=True)
    with pytest.raises(ValueError, match="not a colorization model"):
        denoisekit.calibrate_colorizer(clean_models.gray, [photos], tmp_path / "x.keras")
    # One folder as itself (a string was read letter by letter); a misspelt one is named as missing.
    again = denoisekit.calibrate_colorizer(clean_models.colorize, str(photos), out, overwrite=True)
    assert again == fitted
    with pytest.raises(ValueError, match="no such file or folder: .*nope"):
        denoisekit.calibrate_colorizer(clean_models.colorize, [tmp_path / "nope"], out, overwrite=True)
    with pytest.raises(ValueError, match="a .keras file"):
        denoisekit.calibrate_colorizer(clean_models.colorize, photos, tmp_path / "c.h5")


@pytest.mark.slow
def test_the_calibrate_command_writes_the_calibrated_model_and_refuses_bad_input(clean_models, tmp_path):
    import json

    from click.testing import CliRunner

    from denoisekit.cli import main
    from denoisekit.modelio import peek_metadata

    photo = tmp_path / "p.png"
    cv2.imwrite(str(photo), np.rint(random_colours(12, (48, 64))[1] * 255).astype(np.uint8)[..., ::-1])
    out = tmp_path / "calibrated.keras"
    runner = CliRunner()
    result = runner.invoke(main, ["calibrate", str(clean_models.colorize), str(photo), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["chroma_map"] == peek_metadata(out)[CHROMA_MAP_KEY]
    again = runner.invoke(main, ["calibrate", str(clean_models.colorize), str(photo), "--out", str(out)])
    assert again.exit_code == 1 and "--overwrite" in again.output  # nothing replaced unasked
    gray_model = runner.invoke(main, ["calibrate", str(clean_models.gray), str(photo), "--out", str(tmp_path / "g.keras")])
    assert gray_model.exit_code == 1 and "not a colorization model" in gray_model.output
    assert not (tmp_path / "g.keras").exists()
    (tmp_path / "broken.png").write_bytes(b"not a png")
    broken = runner.invoke(main, ["calibrate", str(clean_models.colorize), str(tmp_path / "broken.png"),
                                  "--out", str(tmp_path / "b.keras")])
    assert broken.exit_code == 1 and "broken.png" in broken.output and "Traceback" not in broken.output
