"""The foundation commands through the real click entry point: --version, plugins, corrupt, metrics."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from denoisekit import __version__
from denoisekit.cli import main
from denoisekit.images import read_image, to_rgb
from denoisekit.metrics import psnr, ssim


@pytest.fixture(autouse=True)
def builtins_only(monkeypatch):
    """These tests are about the core: third-party plugins installed alongside stay unloaded."""
    monkeypatch.setenv("DENOISEKIT_LOAD_PLUGINS", "")


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


def files_under(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- --version, plugins


def test_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"denoisekit, version {__version__}"
    assert __version__ != "0.0.0+unknown"  # the installed distribution's version


def test_plugins_lists_the_builtin_corruptions_in_blocks_that_fit_the_terminal(runner, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    result = runner.invoke(main, ["plugins"])
    assert result.exit_code == 0, result.output
    blocks = {block.split()[1]: block for block in result.stdout.split("\n\n") if block.startswith("corruption")}
    assert {"gaussian", "salt-and-pepper", "grayscale"} <= set(blocks)
    assert "[denoisekit (builtin)]" in blocks["gaussian"].splitlines()[0]
    flat = {name: " ".join(block.split()) for name, block in blocks.items()}  # undo the wrapping
    assert "-p sigma=25 (range, 0..255)" in flat["gaussian"] and "-p clip=True (bool)" in flat["gaussian"]
    assert "-p amount=0.1 (range, 0..1)" in flat["salt-and-pepper"]
    assert max(len(line) for line in result.stdout.splitlines()) <= 60


def test_plugins_json_describes_kind_provider_and_params(runner):
    result = runner.invoke(main, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    by_name = {(e["kind"], e["name"]): e for e in entries}
    for entry in entries:
        assert set(entry) >= {"kind", "name", "provider", "description", "params"}
        assert entry["kind"] in ("corruption", "restorer", "architecture")
    gaussian = by_name[("corruption", "gaussian")]
    assert gaussian["provider"] == "denoisekit (builtin)" and "Gaussian" in gaussian["description"]
    params = {p["name"]: p for p in gaussian["params"]}
    assert (params["sigma"]["type"], params["sigma"]["default"], params["sigma"]["min"], params["sigma"]["max"]) == (
        "range", 25.0, 0, 255)
    assert (params["clip"]["type"], params["clip"]["default"]) == ("bool", True)
    amount = {p["name"]: p for p in by_name[("corruption", "salt-and-pepper")]["params"]}["amount"]
    assert (amount["type"], amount["default"], amount["min"], amount["max"]) == ("range", 0.1, 0, 1)
    assert by_name[("corruption", "grayscale")]["params"] == []


# --------------------------------------------------------------------------- corrupt

NOISY_FORMATS = ["gray8.png", "rgb16.tif", "sub/rgb8.png", "sub/rgba16.png", "sub/deeper/rgba8.png"]


@pytest.fixture
def tree(tmp_path, make_image):
    """An input folder: several formats and depths in nested folders, plus a text file."""
    root = tmp_path / "in"
    samples = {
        "gray8.png": make_image(root / "gray8.png", 64, 80, channels=1, dtype=np.uint8, seed=1),
        "rgb16.tif": make_image(root / "rgb16.tif", 64, 80, channels=3, dtype=np.uint16, seed=2),
        "sub/rgb8.png": make_image(root / "sub" / "rgb8.png", 64, 80, channels=3, dtype=np.uint8, seed=3),
        "sub/rgba16.png": make_image(root / "sub" / "rgba16.png", 64, 80, channels=3, dtype=np.uint16,
                                     with_alpha=True, seed=4),
        "sub/deeper/rgba8.png": make_image(root / "sub" / "deeper" / "rgba8.png", 64, 80, channels=3,
                                           dtype=np.uint8, with_alpha=True, seed=5),
        "sub/photo.jpg": make_image(root / "sub" / "photo.jpg", 64, 80, channels=3, dtype=np.uint8, seed=6),
    }
    (root / "sub" / "notes.txt").write_text("not an image\n")
    return root, samples


def corrupt(runner, source, out, *extra):
    return runner.invoke(main, ["corrupt", str(source), str(out), *map(str, extra)])


def test_corrupt_mirrors_the_tree_and_keeps_format_depth_channels_and_alpha(runner, tmp_path, tree):
    source, samples = tree
    out = tmp_path / "out"
    result = corrupt(runner, source, out, "--noise", "gaussian", "-p", "sigma=25", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert files_under(out) == sorted(samples)  # same relative paths; the text file is not copied
    assert "note: skipped sub/notes.txt (not an image file)" in result.stderr
    assert "6 written, 0 kept, 0 failed" in result.stderr

    for rel, sample in samples.items():
        before, after = read_image(source / rel), read_image(out / rel)
        assert after.dtype == sample.dtype, rel
        assert after.channels == sample.pixels.shape[-1], rel
        assert after.pixels.shape == before.pixels.shape, rel
        if sample.alpha is None:
            assert after.alpha is None, rel
        else:
            np.testing.assert_array_equal(after.alpha, sample.alpha)
        if rel in NOISY_FORMATS:  # lossless formats: the stored residual is the noise itself
            residual = (after.pixels.astype(np.float64) - before.pixels) * 255.0
            assert residual.std() == pytest.approx(25.0, abs=1.0), rel
            assert abs(residual.mean()) < 1.0, rel
    # the file signature of each output matches its suffix (format kept, not just the name)
    assert (out / "rgb16.tif").read_bytes()[:4] in (b"II*\x00", b"MM\x00*")
    assert (out / "sub" / "photo.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    assert (out / "gray8.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_corrupt_is_reproducible_with_a_seed(runner, tmp_path, tree):
    source, samples = tree
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        result = corrupt(runner, source, tmp_path / name, "--noise", "gaussian", "-p", "sigma=5:40", "--seed", seed)
        assert result.exit_code == 0, result.output
        runs[name] = {rel: (tmp_path / name / rel).read_bytes() for rel in samples}
    assert runs["a"] == runs["b"]  # byte-identical
    for rel in samples:
        assert runs["a"][rel] != runs["c"][rel], rel
    # The noise reads 31 bits of the seed: 2**31 would be seed 0's noise again, -1 seed 2**31 - 1's.
    for seed in (2**31, -1):
        result = corrupt(runner, source, tmp_path / "wrapped", "--noise", "gaussian", "--seed", seed)
        assert result.exit_code == 2 and "--seed" in error_lines(result)[0]


def test_corrupt_salt_and_pepper_and_grayscale_through_the_cli(runner, tmp_path, tree):
    source, samples = tree
    result = corrupt(runner, source, tmp_path / "sp", "--noise", "salt-and-pepper", "-p", "amount=0.2")
    assert result.exit_code == 0, result.output
    noisy = read_image(tmp_path / "sp" / "sub" / "rgb8.png").pixels
    impulses = np.all(noisy == 0.0, axis=-1) | np.all(noisy == 1.0, axis=-1)
    assert impulses.mean() == pytest.approx(0.2, abs=0.03)

    result = corrupt(runner, source, tmp_path / "gray", "--noise", "grayscale")
    assert result.exit_code == 0, result.output
    gray = read_image(tmp_path / "gray" / "sub" / "rgb8.png")
    assert gray.channels == 3
    assert np.all(gray.pixels[..., 0] == gray.pixels[..., 1]) and np.all(gray.pixels[..., 1] == gray.pixels[..., 2])
    np.testing.assert_array_equal(read_image(tmp_path / "gray" / "gray8.png").pixels, read_image(source / "gray8.png").pixels)


def test_hidden_files_and_leftover_temporaries_in_the_input_are_ignored(runner, tmp_path, tree):
    source, samples = tree
    (source / ".hidden.png").write_bytes((source / "gray8.png").read_bytes())
    (source / "sub" / ".rgb8.png.abc123.part").write_bytes(b"half a file")
    result = corrupt(runner, source, tmp_path / "out", "--noise", "gaussian")
    assert result.exit_code == 0, result.output
    assert files_under(tmp_path / "out") == sorted(samples)
    assert ".part" not in result.stderr and ".hidden" not in result.stderr


def test_corrupt_a_single_file_to_a_file(runner, tmp_path, rgb8_png):
    target = tmp_path / "elsewhere" / "noisy.png"
    result = corrupt(runner, rgb8_png.path, target, "--noise", "gaussian")
    assert result.exit_code == 0, result.output
    assert read_image(target).pixels.shape == rgb8_png.pixels.shape
    assert not np.array_equal(read_image(target).pixels, read_image(rgb8_png.path).pixels)


def test_an_unreadable_image_is_reported_and_the_others_are_written(runner, tmp_path, tree):
    source, samples = tree
    broken = source / "sub" / "broken.png"
    good_bytes = (source / "sub" / "rgb8.png").read_bytes()
    broken.write_bytes(good_bytes[: len(good_bytes) // 3])
    out = tmp_path / "out"
    result = corrupt(runner, source, out, "--noise", "gaussian")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken.png" in errors[0]
    assert files_under(out) == sorted(samples)  # everything else written, nothing for the broken file
    assert "6 written, 0 kept, 1 failed" in result.stderr


@pytest.mark.parametrize("where", ["in/noisy", "in/sub", "in"])
def test_corrupt_refuses_an_output_inside_the_input(runner, tmp_path, tree, where):
    source, samples = tree
    before = files_under(source)
    result = corrupt(runner, source, tmp_path / where, "--noise", "gaussian")
    assert result.exit_code == 2
    assert len(error_lines(result)) == 1 and "inside the input folder" in error_lines(result)[0]
    assert files_under(source) == before


def test_corrupt_and_clean_refuse_outputs_that_would_replace_their_inputs(runner, tmp_path, tree, monkeypatch):
    source, samples = tree
    before = {rel: (source / rel).read_bytes() for rel in samples}
    # The folder that holds the input file, as OUT: the output would be the input itself.
    monkeypatch.chdir(source)
    for command in (["corrupt", "gray8.png", ".", "--noise", "gaussian"], ["clean", "gray8.png", ".", "--restorer", "median"]):
        result = runner.invoke(main, [*command, "--overwrite"])
        assert result.exit_code == 2, result.output
        assert len(error_lines(result)) == 1 and "would replace an input file" in error_lines(result)[0]
    # An input folder inside OUT, mirrored onto itself: in/sub/sub/rgb8.png's output would be in/sub/rgb8.png.
    (source / "sub" / "sub").mkdir()
    (source / "sub" / "sub" / "rgb8.png").write_bytes(before["sub/rgb8.png"])
    result = corrupt(runner, source / "sub", source, "--noise", "gaussian", "--overwrite")
    assert result.exit_code == 2 and "would replace an input file" in error_lines(result)[0]
    (source / "sub" / "sub" / "rgb8.png").rename(source / "sub" / "sub" / "new.png")
    result = corrupt(runner, source / "sub", source, "--noise", "gaussian")
    assert result.exit_code == 2 and "inside the input folder" in error_lines(result)[0]  # read as an input next time
    assert {rel: (source / rel).read_bytes() for rel in samples} == before
    # The library refuses as the command does.
    from denoisekit import clean

    with pytest.raises(ValueError, match="would replace an input file"):
        clean(source / "gray8.png", source, restorer="median", overwrite=True)
    assert {rel: (source / rel).read_bytes() for rel in samples} == before


def test_existing_outputs_are_kept_unless_overwrite(runner, tmp_path, tree):
    source, samples = tree
    out = tmp_path / "out"
    assert corrupt(runner, source, out, "--noise", "gaussian", "--seed", "1").exit_code == 0
    first = (out / "gray8.png").read_bytes()
    (out / "gray8.png").write_bytes(b"edited by hand")

    again = corrupt(runner, source, out, "--noise", "gaussian", "--seed", "2")
    assert again.exit_code == 0, again.output
    assert (out / "gray8.png").read_bytes() == b"edited by hand"
    assert "kept 6 existing output(s)" in again.stderr and "0 written, 6 kept" in again.stderr

    replaced = corrupt(runner, source, out, "--noise", "gaussian", "--seed", "1", "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert (out / "gray8.png").read_bytes() == first
    assert "6 written, 0 kept" in replaced.stderr


@pytest.mark.parametrize(
    "options, fragments",
    [
        (["--noise", "gaussian", "-p", "sigmaa=3"], ["'sigmaa'", "sigma, clip"]),
        (["--noise", "gaussian", "-p", "sigma=300"], ["sigma=300", "0..255"]),
        (["--noise", "gaussian", "-p", "sigma=40:10"], ["low end is above the high end"]),
        (["--noise", "salt-and-pepper", "-p", "amount=2"], ["amount=2", "0..1"]),
        (["--noise", "gaussian", "-p", "sigma25"], ["key=value", "sigma25"]),
        (["--noise", "gaussian", "-p", "clip=maybe"], ["clip", "not a valid bool"]),
        (["--noise", "poisson-typo"], ["'poisson-typo'", "gaussian", "salt-and-pepper", "grayscale"]),
    ],
)
def test_bad_options_give_a_one_line_error_and_exit_2(runner, tmp_path, tree, options, fragments):
    source, _ = tree
    out = tmp_path / "out"
    result = corrupt(runner, source, out, *options)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = error_lines(result)
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0]
    assert not out.exists()


def test_noise_is_required(runner, tmp_path, tree):
    source, _ = tree
    result = corrupt(runner, source, tmp_path / "out")
    assert result.exit_code == 2 and "--noise" in result.stderr


# --------------------------------------------------------------------------- metrics


@pytest.fixture
def scored(tmp_path, make_image, write_pixels):
    """REF and TEST folders: a.png vs a.jpg (matched by stem), sub/b.png vs a noisy sub/b.png."""
    ref, test = tmp_path / "ref", tmp_path / "test"
    a = make_image(ref / "a.png", 48, 48, channels=3, seed=1)
    b = make_image(ref / "sub" / "b.png", 48, 48, channels=1, seed=2)
    write_pixels(test / "a.jpg", a.pixels)
    rng = np.random.default_rng(0)
    noisy_b = np.clip(b.pixels + rng.normal(0, 12, b.pixels.shape), 0, 255).astype(np.uint8)
    write_pixels(test / "sub" / "b.png", noisy_b)
    return ref, test


def expected_scores(ref, test, pairs):
    scores = {}
    for test_rel, ref_rel in pairs.items():
        r, t = read_image(ref / ref_rel).pixels, read_image(test / test_rel).pixels
        scores[test_rel] = (psnr(r, t), ssim(r, t))
    return scores


def test_metrics_matches_by_path_and_stem_and_prints_a_table(runner, tmp_path, scored):
    ref, test = scored
    result = runner.invoke(main, ["metrics", str(ref), str(test), "--json", str(tmp_path / "scores.json")])
    assert result.exit_code == 0, result.output
    expected = expected_scores(ref, test, {"a.jpg": "a.png", "sub/b.png": "sub/b.png"})

    lines = result.stdout.splitlines()
    assert lines[0].split() == ["file", "PSNR", "(dB)", "SSIM"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert set(rows) == {"a.jpg", "sub/b.png", "mean"}
    for rel, (p, s) in expected.items():
        assert float(rows[rel][0]) == pytest.approx(p, abs=0.01)
        assert float(rows[rel][1]) == pytest.approx(s, abs=1e-4)
    assert float(rows["mean"][0]) == pytest.approx(np.mean([p for p, _ in expected.values()]), abs=0.01)

    report = json.loads((tmp_path / "scores.json").read_text())
    files = {f["file"]: f for f in report["files"]}
    assert set(files) == {"a.jpg", "sub/b.png"}
    for rel, (p, s) in expected.items():
        assert files[rel]["psnr"] == pytest.approx(p) and files[rel]["ssim"] == pytest.approx(s)
    assert report["mean"]["psnr"] == pytest.approx(np.mean([p for p, _ in expected.values()]))
    assert report["mean"]["ssim"] == pytest.approx(np.mean([s for _, s in expected.values()]))
    assert report["mean"]["count"] == 2 and report["errors"] == []
    assert expected["a.jpg"][0] > expected["sub/b.png"][0]  # a JPEG at quality 95 beats sigma-12 noise


def test_a_reference_of_the_same_name_is_preferred_and_two_of_one_stem_are_refused(runner, tmp_path, scored,
                                                                                   write_pixels):
    ref, test = scored
    # sub/b.png has its namesake; a noisy sub/b.tif beside it had been picked instead (the last of the stem).
    write_pixels(ref / "sub" / "b.tif", np.zeros((48, 48, 1), np.uint8))
    result = runner.invoke(main, ["metrics", str(ref), str(test), "--json", "-"])
    assert result.exit_code == 0, result.output
    files = {f["file"]: f for f in json.loads(result.stdout)["files"]}
    expected = expected_scores(ref, test, {"sub/b.png": "sub/b.png"})
    assert files["sub/b.png"]["psnr"] == pytest.approx(expected["sub/b.png"][0])
    # a.jpg has no namesake among a.png and a.tif: which one is meant is not guessed.
    write_pixels(ref / "a.tif", np.zeros((48, 48, 1), np.uint8))
    for command in (["metrics", str(ref), str(test)],
                    ["clean", str(test), str(tmp_path / "out"), "--restorer", "median", "--reference", str(ref)]):
        result = runner.invoke(main, command)
        assert result.exit_code == 2 and "a.png, a.tif share its stem" in result.stderr
    assert not (tmp_path / "out").exists()


def test_metrics_json_to_stdout_is_only_json(runner, scored, tmp_path, monkeypatch):
    ref, test = scored
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["metrics", str(ref), str(test), "--json", "-"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["mean"]["count"] == 2 and {f["file"] for f in report["files"]} == {"a.jpg", "sub/b.png"}
    assert not (tmp_path / "-").exists()  # not a file named "-"


def test_metrics_of_identical_folders_skip_inf_in_the_mean(runner, tmp_path, scored):
    ref, test = scored
    (test / "sub" / "c.png").write_bytes((ref / "sub" / "b.png").read_bytes())
    (ref / "sub" / "c.png").write_bytes((ref / "sub" / "b.png").read_bytes())
    result = runner.invoke(main, ["metrics", str(ref), str(test), "--json", str(tmp_path / "s.json")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "s.json").read_text()
    assert "Infinity" not in text  # standard JSON: an identical image's infinite PSNR is null
    report = json.loads(text)
    files = {f["file"]: f for f in report["files"]}
    assert files["sub/c.png"]["psnr"] is None and files["sub/c.png"]["ssim"] == pytest.approx(1.0)
    finite = [files["a.jpg"]["psnr"], files["sub/b.png"]["psnr"]]
    assert report["mean"]["psnr"] == pytest.approx(np.mean(finite))


def test_metrics_with_a_missing_reference_exits_1_naming_it(runner, tmp_path, scored, write_pixels):
    ref, test = scored
    write_pixels(test / "sub" / "extra.png", np.zeros((48, 48, 1), np.uint8))
    result = runner.invoke(main, ["metrics", str(ref), str(test), "--json", str(tmp_path / "s.json")])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "sub/extra.png" in errors[0] and "no reference" in errors[0]
    report = json.loads((tmp_path / "s.json").read_text())
    assert {f["file"] for f in report["files"]} == {"a.jpg", "sub/b.png"}  # the others are still scored
    assert len(report["errors"]) == 1


def test_metrics_with_a_size_mismatch_exits_1(runner, tmp_path, scored, write_pixels):
    ref, test = scored
    write_pixels(test / "a.jpg", np.zeros((40, 48, 3), np.uint8))
    result = runner.invoke(main, ["metrics", str(ref), str(test)])
    assert result.exit_code == 1
    assert any("a.jpg" in line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert "sub/b.png" in result.stdout


def test_metrics_of_two_single_files(runner, tmp_path, scored):
    ref, test = scored
    result = runner.invoke(main, ["metrics", str(ref / "sub" / "b.png"), str(test / "sub" / "b.png"), "--json",
                                  str(tmp_path / "one.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "one.json").read_text())
    (p, s), = expected_scores(ref / "sub", test / "sub", {"b.png": "b.png"}).values()
    assert [f["file"] for f in report["files"]] == ["b.png"]
    assert report["files"][0]["psnr"] == pytest.approx(p) and report["mean"]["ssim"] == pytest.approx(s)


def test_corrupt_json_says_what_happened_to_each_file(runner, tmp_path):
    import cv2

    clean = tmp_path / "clean"
    clean.mkdir()
    cv2.imwrite(str(clean / "a.png"), np.full((16, 16), 128, np.uint8))
    (clean / "notes.txt").write_text("not an image")
    result = runner.invoke(main, ["corrupt", str(clean), str(tmp_path / "out"), "--noise", "gaussian",
                                  "-p", "sigma=5", "--seed", "4", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["params"]["sigma"] == "5" and report["seed"] == 4 and report["skipped"] == ["notes.txt"]
    assert [(f["file"], f["status"]) for f in report["files"]] == [("a.png", "written")]


def test_outputs_never_replace_a_file_that_is_not_theirs(runner, tmp_path, tree, scored):
    """An existing file named as OUT, a metrics --json or a clean --report that another program
    wrote is refused before any work (exit 2); an earlier run's own JSON is replaced."""
    source, samples = tree
    (tmp_path / "plain.txt").write_text("precious")
    for target in (source, source / "gray8.png"):
        result = corrupt(runner, target, tmp_path / "plain.txt", "--noise", "gaussian")
        assert result.exit_code == 2 and "plain.txt is an existing file" in error_lines(result)[0]
    ref, test = scored
    (tmp_path / "keep.json").write_text("precious")
    refused = runner.invoke(main, ["metrics", str(ref), str(test), "--json", str(tmp_path / "keep.json")])
    assert refused.exit_code == 2 and "--overwrite" in error_lines(refused)[0]
    report = runner.invoke(main, ["clean", str(source), str(tmp_path / "out"), "--report", str(tmp_path / "keep.json")])
    assert report.exit_code == 2 and "not a denoisekit report" in error_lines(report)[0]
    assert (tmp_path / "keep.json").read_text() == "precious" and (tmp_path / "plain.txt").read_text() == "precious"
    assert not (tmp_path / "out").exists()
    nested = tmp_path / "new" / "dir" / "m.json"  # a missing folder is made, not a traceback
    for _ in range(2):  # the second run replaces its own earlier file
        done = runner.invoke(main, ["metrics", str(ref), str(test), "--json", str(nested)])
        assert done.exit_code == 0, done.output
        assert json.loads(nested.read_text())["mean"]["count"] == 2
    forced = runner.invoke(main, ["metrics", str(ref), str(test), "--json", str(tmp_path / "keep.json"), "--overwrite"])
    assert forced.exit_code == 0 and json.loads((tmp_path / "keep.json").read_text())["mean"]["count"] == 2


def test_corrupt_says_that_jpeg_outputs_change_the_noise(runner, tmp_path, tree):
    source, samples = tree
    result = corrupt(runner, source, tmp_path / "out", "--noise", "salt-and-pepper")
    assert result.exit_code == 0, result.output
    assert "note: 1 JPEG file(s) (sub/photo.jpg)" in result.stderr and "convert them to PNG" in result.stderr
    png = corrupt(runner, source / "gray8.png", tmp_path / "g.png", "--noise", "salt-and-pepper")
    assert png.exit_code == 0 and "JPEG" not in png.stderr


def test_one_reference_file_scores_only_its_namesake_in_a_folder(runner, tmp_path, scored):
    """A single reference goes with a single test file whatever its name, but in a folder only
    with the file of its name: every other image scored against it would give wrong figures."""
    ref, test = scored
    one = runner.invoke(main, ["metrics", str(ref / "a.png"), str(test / "sub" / "b.png"), "--json", "-"])
    assert one.exit_code == 0, one.output  # paired: the gray test in the RGB reference's channels, as clean scores it
    expected = psnr(read_image(ref / "a.png").pixels, to_rgb(read_image(test / "sub" / "b.png").pixels))
    assert json.loads(one.stdout)["files"][0]["psnr"] == pytest.approx(expected)
    folder = runner.invoke(main, ["metrics", str(ref / "a.png"), str(test), "--json", "-"])
    report = json.loads(folder.stdout)
    assert [f["file"] for f in report["files"]] == ["a.jpg"]
    assert any("sub/b.png" in line for line in report["errors"])
