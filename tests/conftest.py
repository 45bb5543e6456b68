import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mixlab.data.synth import STEMS, SynthSpec, build_corpus

REPO = Path(__file__).resolve().parents[1]
# the main config plus the tests' tiny scale, merged in this order (as --configfile A B does)
CONFIGS = [REPO / "config.yaml", REPO / ".test" / "config_tiny.yaml"]
FIXTURES = REPO / "tests" / "fixtures"        # small test data made with the authorities (see each test)
TINY = SynthSpec(seed=3, sample_rate=8000, n_train=3, n_valid=1, n_test=1, min_seconds=4.0, max_seconds=5.0)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    build_corpus(root, TINY, progress=lambda m: None)
    return root


@pytest.fixture(scope="session")
def tiny_store(tiny_corpus, tmp_path_factory):
    from mixlab.data.stem_store import build_store
    from mixlab.data.tracks import list_tracks

    out = tmp_path_factory.mktemp("store")
    build_store(tiny_corpus, "train", list_tracks(tiny_corpus, "train"), out, TINY.sample_rate,
                progress=lambda m: None)
    return out


@pytest.fixture(scope="session")
def real_musdb_tree(tmp_path_factory):
    """The real MUSDB18 excerpt stempeg ships, written out in MUSDB18-HQ layout (test subset)."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is not on PATH; `make setup` installs Debian's ffmpeg")
    import stempeg

    stems, rate = stempeg.read_stems(stempeg.example_stem_path())
    root = tmp_path_factory.mktemp("musdb18hq")
    folder = root / "test" / "The Easton Ellises - Falcon 69"
    folder.mkdir(parents=True)
    # MUSDB18 stream order: mixture, drums, bass, other, vocals.
    for i, name in enumerate(["mixture", "drums", "bass", "other", "vocals"]):
        sf.write(folder / f"{name}.wav", stems[i].astype(np.float32), int(rate), subtype="PCM_16")
    (root / "train").mkdir()
    return root, int(rate)


# Real MUSDB18 names hold ', &, ',', (, ), '.'; the tree adds ';' and two names that differ only in a
# space. "Johnny Lokke - Promises & Lies" is one of musdb's 14 validation songs.
REAL_NAMES = {
    "train": ["Ben Carrigan - We'll Talk About It All Tonight", "Jokers, Jacks & Kings - Sea Of Leaves",
              "M.E.R.C. Music - Knockout; (Live)", "M.E.R.C. Music - Knockout;  (Live)",
              "Johnny Lokke - Promises & Lies"],
    "test": ["The Easton Ellises (Baumi) - SDRNR", "Zeno's Band; & Co. - It's (Not) Over, Ok."],
}


def write_musdb_tree(root: Path, names: dict = REAL_NAMES, seconds: float = 6.0, rate: int = 44100,
                     seed: int = 7) -> Path:
    """A MUSDB18-HQ tree in the real format (16-bit, 44.1 kHz, stereo, five WAVs) with songs of the
    synthetic generator: beat, key and timbres per song, so training on it learns something."""
    from mixlab.data.synth import render_song

    for subset, tracks in names.items():
        for i, name in enumerate(tracks):
            folder = root / subset / name
            folder.mkdir(parents=True, exist_ok=True)
            stems = render_song(seed, "train" if subset == "train" else "test", i, rate, seconds, seconds)
            for stem, audio in stems.items():
                sf.write(folder / f"{stem}.wav", audio, rate, subtype="PCM_16")
            sf.write(folder / "mixture.wav", sum(stems.values()), rate, subtype="PCM_16")
    return root


@pytest.fixture(scope="session")
def real_names_tree(tmp_path_factory):
    return write_musdb_tree(tmp_path_factory.mktemp("musdb18hq"))


def train_a(spec, store, out, resume, **kw):
    """Paper A's recipe on a stem store (or several pooled) through the one entry into training."""
    from mixlab.papers import train

    stores = [str(p) for p in (store if isinstance(store, (list, tuple)) else [store])]
    return train({**spec, "recipe": "random_mixing", "inputs": {"stores": stores}}, out, resume, **kw)


def train_b(spec, out, resume, device="cpu", log=print, snapshots=None, **inputs):
    """A Paper B recipe (spec["recipe"]: mixit.pretrain or mixit.finetune) with its inputs as keywords."""
    from mixlab.papers import train

    given = {k: str(v) if isinstance(v, Path) else v for k, v in inputs.items() if v is not None}
    return train({**spec, "inputs": given}, out, resume, device=device, log=log, snapshots=snapshots)


def write_fake_paper_trees(work: Path) -> tuple[Path, Path]:
    """A MUSDB18-HQ tree of 150 one-second silent songs (musdb's split) and an FMA layout of one MP3 header per
    subset: what the paper-scale DAG checks while it is built (nothing decodes them)."""
    import musdb
    import yaml

    root = work / "fake_musdb"
    valid = yaml.safe_load((Path(musdb.__file__).parent / "configs" / "mus.yaml").read_text())["validation_tracks"]
    if not (root / "test").exists():
        silence = np.zeros((44100, 2), dtype=np.float32)
        names = {"train": [f"Fake Artist - Train {i:02d}" for i in range(86)] + list(valid),
                 "test": [f"Fake Artist - Test {i:02d}" for i in range(50)]}
        for subset, tracks in names.items():
            for name in tracks:
                (root / subset / name).mkdir(parents=True)
                for stem in ("mixture", "vocals", "drums", "bass", "other"):
                    sf.write(root / subset / name / f"{stem}.wav", silence, 44100, subtype="PCM_16")
    fma = work / "fake_fma"
    for subset in ("small", "medium", "large", "full"):
        (fma / f"fma_{subset}" / "000").mkdir(parents=True, exist_ok=True)
        (fma / f"fma_{subset}" / "000" / "000002.mp3").write_bytes(b"\xff\xfb")
    return root, fma


def dry_run_job_counts(dry_run_output: str) -> dict:
    """The 'Job stats' table of a `snakemake -n` as {rule: count}."""
    lines = dry_run_output[dry_run_output.index("Job stats"):].splitlines()[3:]
    counts = {}
    for line in lines:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


def run_cli(*args, check=True, **kw):
    exe = Path(sys.executable).parent / "mixlab"
    res = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, **kw)
    if check and res.returncode != 0:
        raise AssertionError(f"mixlab {args[0]} failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}")
    return res


def noisy_estimates(refs: np.ndarray, snrs_db, seed=0) -> np.ndarray:
    """Each source plus white noise at the given SNR (one per source), float32."""
    rng = np.random.default_rng(seed)
    out = []
    for ref, snr in zip(refs, snrs_db):
        power = np.mean(ref.astype(np.float64) ** 2)
        out.append(ref + np.sqrt(power * 10 ** (-snr / 10)) * rng.standard_normal(ref.shape))
    return np.stack(out).astype(np.float32)


@pytest.fixture(scope="session")
def real_track_museval(real_musdb_tree):
    """The stempeg track, noisy estimates (SNR -5..30 dB) and museval's own scores of them."""
    import musdb
    import museval

    root, rate = real_musdb_tree
    track = musdb.DB(root=str(root), is_wav=True, subsets="test")[0]
    refs = np.stack([track.targets[s].audio for s in STEMS])
    ests = noisy_estimates(refs, [-5, 5, 15, 30])
    scores = museval.eval_mus_track(track, {s: e.astype(np.float64) for s, e in zip(STEMS, ests)})
    return track, refs, ests, rate, scores.json


def pytest_collection_modifyitems(config, items):
    """The SLURM test runs last. It installs SLURM's client tools, and once they are installed, every Snakemake
    start runs `scontrol show config` (snakemake-executor-plugin-slurm, loaded with all executor plugins). With
    no controller running, that call retries for about 10 s, so every later test that starts Snakemake waits."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/test_slurm.py"))
