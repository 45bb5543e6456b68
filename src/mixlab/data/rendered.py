"""A realistic multitrack corpus built offline, Slakh2100-style: real compositions arranged for a band,
played by recorded-sample instruments, with a sung lead, mixed lightly, in MUSDB18-HQ layout.

Per song, drawn by seed: a four-part Bach chorale from the music21 corpus (its chords, one per beat, and
its soprano line), a key (transposition), a tempo and an MMA groove (drums, bass and chord parts from
the chords), a drum kit (recorded acoustic kits, AVL) and GM instruments from a sample soundfont
(FluidR3), rendered with TinySoundFont. The soprano line is the lead: sung by Sinsy
(an HTS voice trained on a real singer) where pysinsy is installed, else played on a GM voice patch
(choir, voice oohs) -- the manifest says which. Stems are labelled by what they are: MIDI channel 10 is
drums, GM programs 32-39 are bass, the lead is vocals, every other part is other.

Mixing: per stem a level, a pan, a high-pass, a shelf EQ and a reverb send (pedalboard); the mixture is
the exact sum of the 16-bit stems as written. Deterministic by seed: the same spec gives the same bytes.
`ATTRIBUTION.md` in the corpus root lists every source with its licence.
"""
from __future__ import annotations

import functools
import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mixlab.data.layout import MANIFEST, SPLITS, STEMS

SETUP = "make corpus-deps"    # installs every piece below (apt and pip); see the Makefile

# Recorded sample sets (Debian packages) and what they are under; looked up in these folders
SOUNDFONT_DIRS = ("/usr/share/sounds/sf3", "/usr/share/sounds/sf2", "/usr/local/share/sounds/sf3",
                  "/usr/local/share/sounds/sf2")
# MuseScore General comes only as .sf3, which takes 4 s to load, and every part needs a freshly loaded
# synthesizer (play): the GM instruments come from FluidR3.
INSTRUMENTS = {   # file -> (package, licence, attribution)
    "FluidR3_GM.sf2": ("fluid-soundfont-gm", "MIT", "Fluid (R3) General MIDI SoundFont by Frank Wen, MIT licence"),
}
KITS = {
    "Black_Pearl_4_LV2.sf2": ("avldrums.lv2-soundfont", "CC-BY-SA-3.0",
                              "AVL Drumkits 'Black Pearl' by Glen MacArthur (AV Linux), CC-BY-SA 3.0"),
    "Red_Zeppelin_4_LV2.sf2": ("avldrums.lv2-soundfont", "CC-BY-SA-3.0",
                               "AVL Drumkits 'Red Zeppelin' by Glen MacArthur (AV Linux), CC-BY-SA 3.0"),
}
SINGER = ("pysinsy", "MIT; HTS voice nitech_jp_song070_f001 CC-BY 3.0",
          "Sinsy HMM-based singing voice synthesis; voice 'nitech_jp_song070_f001' by Nagoya Institute of "
          "Technology, CC-BY 3.0")

# 4/4 MMA grooves with drums, a bass and other parts (Debian mma's standard library; tested)
GROOVES = ("50sRock", "60sRock", "8Beat", "8BeatWalk", "BVFunk", "Ballad", "Ballad1", "BasicRock", "Beguine",
           "BigBand", "BlueGrass", "Blues", "Bolero", "BoneyM", "Broadway", "BubbleRock", "Calypso", "CountryBlues",
           "CountrySwing", "DSoul", "Desert", "EasySwing", "Evansish", "FastBlues", "Folk", "FolkRock", "Foxtrot",
           "GuitarBallad", "HillCountry", "JazzCombo", "JazzRhumba", "JazzRock", "Jive", "LFusion", "LightTango",
           "MellowJazz", "Merengue", "ModernJazz", "NiteJazz", "PianoBallad", "PopBallad", "QuickStep", "R&B",
           "Rhumba", "Rock1", "Rock2", "RockBallad", "Samba", "ShuffleBoggie", "Ska", "SlowBlues", "SlowBolero",
           "SlowCountry", "SlowJazz", "SoftRock", "Spiritual", "Strut", "Swing", "Tango", "Trance", "Twist",
           "WesternSwing", "Zydeco")
BASS_PROGRAMS = range(32, 40)                         # GM: acoustic, finger, pick, fretless, slap 1-2, synth 1-2
OTHER_PROGRAMS = (0, 1, 2, 4, 5, 6, 16, 17, 19, 24, 25, 26, 27, 29, 48, 49, 50, 61, 89)   # keys, organs, guitars, strings, brass, pad
LEAD_PATCHES = (52, 53, 54, 85)                       # choir aahs, voice oohs, synth voice, lead (voice)
LEAD_CHANNEL = 0
KANA = ("あ", "ら", "な", "ま", "た", "か", "さ", "は", "や", "お", "ろ", "の", "も", "と", "こ", "る", "い", "え")   # Sinsy's voice sings Japanese

PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# music21's chord names -> MMA's (MMA's "dim" is a diminished seventh: a diminished triad is "mb5")
QUALITY = {"major triad": "", "minor triad": "m", "diminished triad": "mb5", "augmented triad": "aug",
           "dominant seventh chord": "7", "major seventh chord": "maj7", "minor seventh chord": "m7",
           "half-diminished seventh chord": "m7b5", "diminished seventh chord": "dim7"}
BY_QUALITY = {"minor": "m", "diminished": "mb5", "augmented": "aug"}   # any other chord: its triad


@dataclass(frozen=True)
class RenderSpec:
    seed: int = 0
    sample_rate: int = 44100
    n_train: int = 8
    n_valid: int = 2
    n_test: int = 4
    seconds: float = 20.0            # every song's length (the chorale repeats when shorter)
    singer: str = "auto"             # auto: Sinsy where installed, else a voice patch; sinsy; patch

    def __post_init__(self):
        if self.singer not in ("auto", "sinsy", "patch"):
            raise ValueError(f"singer: {self.singer!r} is not auto, sinsy or patch")


class MissingTool(RuntimeError):
    """A piece of the renderer is not installed; the message names the command that installs it."""


def track_names(spec: RenderSpec, split: str) -> list[str]:
    n = {"train": spec.n_train, "valid": spec.n_valid, "test": spec.n_test}[split]
    return [f"Rendered {spec.seed} - {split.capitalize()} {i:03d}" for i in range(n)]


# ---- what is installed

def _soundfont(name: str) -> Path | None:
    for d in SOUNDFONT_DIRS:
        if (Path(d) / name).is_file():
            return Path(d) / name
    return None


@functools.cache
def _sinsy():
    """pysinsy's synthesizer with its Japanese dictionary and HTS voice, or None where not installed.

    The extension is loaded by itself: pysinsy's package __init__ imports pkg_resources, which current
    setuptools no longer ships."""
    import importlib.util

    found = importlib.util.find_spec("pysinsy")
    if found is None or not found.submodule_search_locations:
        return None
    base = Path(found.submodule_search_locations[0])
    ext = next(iter(sorted(base.glob("sinsy*.so")) + sorted(base.glob("sinsy*.pyd"))), None)
    voice = base / "htsvoice" / "nitech_jp_song070_f001.htsvoice"
    if ext is None or not voice.is_file():
        return None
    spec = importlib.util.spec_from_file_location("pysinsy.sinsy", ext)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sinsy = module.Sinsy()
    if not (sinsy.setLanguages("j", str(base / "_dic")) and sinsy.loadVoices(str(voice))):
        return None
    return sinsy


def sinsy_available() -> bool:
    try:
        return _sinsy() is not None
    except Exception:         # a build that does not load
        return False


def check_tools(spec: RenderSpec) -> list[str]:
    """Every missing piece, each with the command that installs it (empty: ready)."""
    problems = []
    if not shutil.which("mma"):
        problems.append(f"mma (band parts from chords) is not installed: `apt-get install mma` or `{SETUP}`")
    elif not any(Path(p).is_file() for p in ("/usr/share/mma/lib/stdlib/.mmaDB", "/usr/local/share/mma/lib/stdlib/.mmaDB")):
        problems.append(f"mma's groove database is not built: `sudo mma -G` or `{SETUP}`")
    for name, (package, _, _) in {**INSTRUMENTS, **KITS}.items():
        if _soundfont(name) is None:
            problems.append(f"{name} (recorded instrument samples) is missing: `apt-get install {package}` or `{SETUP}`")
    for module, pip in (("music21", "pip install music21"), ("tinysoundfont", "pip install --no-deps tinysoundfont"),
                        ("pedalboard", "pip install pedalboard")):
        try:
            __import__(module)
        except ImportError:
            problems.append(f"python package {module} is missing: `{pip}` or `{SETUP}`")
    if spec.singer == "sinsy" and not sinsy_available():
        problems.append(f"pysinsy (the sung lead) is missing: `{SETUP}` builds it (or use singer=patch)")
    return problems


# ---- one song: what it is, drawn by seed

@functools.cache
def _chorales() -> list[str]:
    """The Bach chorales of the music21 corpus, one file per chorale (a few come as both .krn and .mxl)."""
    from music21 import corpus

    by_name = {}
    for p in sorted(str(p) for p in corpus.getComposer("bach") if Path(p).name.startswith("bwv")):
        name, suffix = Path(p).stem, Path(p).suffix
        if suffix in (".mxl", ".xml", ".musicxml") or name not in by_name:
            by_name[name] = p
    return sorted(by_name.values())


CANDIDATES = 3     # chorales of a split's share each song starts at (it falls back on the next ones)


def draw_songs(spec: RenderSpec) -> dict[str, list[dict]]:
    """Per split, per song: composition, key, tempo, groove, kit, instruments, lead and mix, by seed.

    The chorales are dealt to the splits first (a third to test, a tenth to validation), so no composition
    is in two splits, and a song's draws do not depend on how many songs the other splits have. A split
    with more songs than its chorales / CANDIDATES reuses them in other keys, tempi and grooves."""
    pools = _shares(spec.seed)
    return {split: [_draw(np.random.default_rng([spec.seed, s, i, 26]), name, pools[split], i)
                     for i, name in enumerate(track_names(spec, split))]
            for s, split in enumerate(SPLITS)}


def _draw(r: np.random.Generator, name: str, pool: list[str], i: int) -> dict:
    return {
        # the song's own chorales first, then the rest of its split's share as fallbacks
        "name": name, "candidates": [pool[(i * CANDIDATES + k) % len(pool)] for k in range(len(pool))],
        "transpose": int(r.integers(-5, 7)), "tempo": int(r.integers(72, 136)),
        "groove": str(r.choice(GROOVES)), "kit": str(r.choice(sorted(KITS))),
        "soundfont": str(r.choice(sorted(INSTRUMENTS))), "bass_program": int(r.choice(BASS_PROGRAMS)),
        "other_programs": [int(x) for x in r.choice(OTHER_PROGRAMS, size=3, replace=False)],
        "lead_patch": int(r.choice(LEAD_PATCHES)), "syllables": [str(x) for x in r.choice(KANA, size=64)],
        "mix": {stem: {"gain_db": float(r.uniform(-6, 0)), "pan": float(r.uniform(-0.4, 0.4)),
                       "highpass_hz": float(r.uniform(20, 60) if stem in ("bass", "drums") else r.uniform(60, 180)),
                       "shelf_db": float(r.uniform(-3, 3)), "reverb": float(r.uniform(0.05, 0.3))}
                for stem in STEMS},
        "room": float(r.uniform(0.2, 0.7)), "mma_seed": int(r.integers(1, 2**31 - 1)),
    }


def _shares(seed: int) -> dict[str, list[str]]:
    """The chorales dealt to the splits of the corpus with this seed: a third to test, a tenth to validation."""
    chorales = _chorales()
    order = [chorales[i] for i in np.random.default_rng([seed, 2026]).permutation(len(chorales))]
    n_test, n_valid = len(order) // 3, len(order) // 10
    return {"test": order[:n_test], "valid": order[n_test:n_test + n_valid], "train": order[n_test + n_valid:]}


def unlabelled_mixture(seed: int, index: int, sample_rate: int, seconds: float,
                       corpus_seed: int = 0) -> tuple[np.ndarray, dict]:
    """One full mix without stems for an unlabelled pool (Paper B's pre-training in place of FMA): a song
    drawn by `seed` from the training share of the rendered corpus with `corpus_seed` (never one of its
    test chorales), the lead sung where Sinsy is installed; float32 (T, 2) and what it was made of."""
    spec = RenderSpec(seed=seed, sample_rate=sample_rate, seconds=seconds)
    pool = _shares(corpus_seed)["train"]
    song = _draw(np.random.default_rng([seed, 99, index, 26]), f"unlabelled {index}", pool, index)
    singer = "sinsy" if sinsy_available() else "patch"
    stems, made = render_song(song, spec, singer)
    return (sum(stems[s].astype(np.float32) for s in STEMS) / 32768.0), made


def read_chorale(path: str, transpose: int) -> tuple[list[str], list[tuple[float, float, int]]] | str:
    """One MMA chord per beat and the soprano's notes (start beat, beats, MIDI pitch, ties merged), from the
    first full bar to the end of the last (the closing cadence kept); or why the chorale cannot be used."""
    from music21 import converter

    score = converter.parse(path)
    sigs = list(score.recurse().getElementsByClass("TimeSignature"))
    if not sigs or any(s.ratioString != "4/4" for s in sigs):
        return "not in 4/4"
    if len(score.parts) < 4:
        return f"{len(score.parts)} parts, not 4"
    first = score.parts[0].getElementsByClass("Measure")
    start = float(first[1].offset) if len(first) > 1 and first[0].duration.quarterLength < 4 else 0.0
    beats = int(np.ceil((float(score.highestTime) - start) / 4)) * 4
    if beats < 8:
        return f"{beats} beats, shorter than 2 bars"
    flat = score.chordify().flatten().getElementsByClass("Chord").stream()
    chords, last = [], "C"
    for b in range(beats):
        c = flat.getElementAtOrBefore(start + b)
        if c is not None and c.pitches:
            root = (c.root().midi + transpose) % 12
            last = PITCH_NAMES[root] + QUALITY.get(c.commonName, BY_QUALITY.get(c.quality, ""))
        chords.append(last)
    melody = []
    for n in score.parts[0].stripTies().flatten().notes:
        t, d = float(n.offset) - start, float(n.quarterLength)
        if 0 <= t < beats and n.isNote and d > 0:            # grace notes have no length: left out
            melody.append((t, min(d, beats - t), int(n.pitch.midi) + transpose))
    return (chords, melody) if len(melody) >= 4 else f"{len(melody)} soprano notes"


def arrangement(song: dict, seconds: float) -> dict:
    """The first chorale of the song's candidates that can be used (the next ones in its split's share if
    none), repeated to `seconds`: chords per beat and the lead's notes in seconds."""
    why = {}
    for path in song["candidates"]:
        got = read_chorale(path, song["transpose"])
        if not isinstance(got, str):
            break
        why[Path(path).name] = got
    else:
        raise RuntimeError(f"{song['name']}: no usable chorale: " + "; ".join(f"{k}: {v}" for k, v in why.items()))
    chords, melody = got
    beat_s = 60.0 / song["tempo"]
    repeats = int(np.ceil(seconds / (len(chords) * beat_s)))
    notes = [((k * len(chords) + t) * beat_s, d * beat_s, p) for k in range(repeats) for t, d, p in melody]
    return {"composition": path, "chords": chords * repeats, "notes": [n for n in notes if n[0] < seconds]}


# ---- band parts (MMA) and their audio (TinySoundFont)

def band_events(chords: list[str], tempo: int, groove: str, seed: int, work: Path) -> list:
    """MMA's drums, bass and chord parts for the chords (4 per bar), as TinySoundFont MIDI events."""
    import tinysoundfont.midi

    # RndSeed: MMA's grooves humanise velocities and timing at random; seeded, the same song comes out twice
    lines = [f"RndSeed {seed}", f"Tempo {tempo}", f"Groove {groove}"]
    lines += [f"{bar + 1} " + " ".join(chords[bar * 4:bar * 4 + 4]) for bar in range(len(chords) // 4)]
    src, mid = work / "song.mma", work / "song.mid"
    src.write_text("\n".join(lines) + "\n")
    res = subprocess.run(["mma", str(src), "-f", str(mid)], capture_output=True, text=True, cwd=work)
    if res.returncode or not mid.is_file():
        raise RuntimeError(f"mma failed on groove {groove}: {(res.stdout + res.stderr).strip()[-500:]}")
    return tinysoundfont.midi.load(str(mid))


def play(events: list[tuple[float, str, int, int, int]], programs: dict[int, tuple[str, int, int, bool]],
         n: int, sample_rate: int) -> np.ndarray:
    """Render (time s, "on"|"off", channel, key, velocity) events with channel -> (sample set, bank,
    preset, drums) into float32 (n, 2).

    A fresh synthesizer per part: one kept loaded carries voice state from part to part (measured: the
    same part rendered first and second differs by up to 0.15 of full scale), so a song would depend on
    what was rendered before it."""
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=sample_rate)
    ids = {font: synth.sfload(str(_soundfont(font))) for font in sorted({f for f, _, _, _ in programs.values()})}
    for chan, (font, bank, preset, drums) in programs.items():
        synth.program_select(chan, ids[font], bank, preset, is_drums=drums)
    out = np.zeros((n, 2), dtype=np.float32)
    pos = 0
    for t, kind, chan, key, vel in sorted(events, key=lambda e: (e[0], e[1] == "on")):
        at = min(n, int(round(t * sample_rate)))
        if at > pos:
            out[pos:at] = np.frombuffer(synth.generate(at - pos), dtype=np.float32).reshape(-1, 2)
            pos = at
        if kind == "on" and chan in programs:
            synth.noteon(chan, key, vel)
        elif chan in programs:
            synth.noteoff(chan, key)
    if pos < n:
        out[pos:] = np.frombuffer(synth.generate(n - pos), dtype=np.float32).reshape(-1, 2)
    return out


def band_stems(events: list, song: dict, n: int, sample_rate: int) -> dict[str, np.ndarray]:
    """drums (MIDI channel 10), bass (GM programs 32-39, as MMA assigned them) and other, each on its own."""
    from tinysoundfont.midi import NoteOff, NoteOn, ProgramChange

    program = {e.channel: e.action.program for e in events if isinstance(e.action, ProgramChange)}
    notes = []
    for e in events:
        if isinstance(e.action, NoteOn):
            notes.append((e.t, "on" if e.action.velocity > 0 else "off", e.channel, e.action.key, e.action.velocity))
        elif isinstance(e.action, NoteOff):
            notes.append((e.t, "off", e.channel, e.action.key, 0))
    used = sorted({c for _, _, c, _, _ in notes})
    drums = [c for c in used if c == 9]
    bass = [c for c in used if c != 9 and program.get(c, 0) in BASS_PROGRAMS]
    other = [c for c in used if c not in drums and c not in bass]
    font = song["soundfont"]
    parts = {
        "drums": {c: (song["kit"], 0, 0, False) for c in drums},
        "bass": {c: (font, 0, song["bass_program"], False) for c in bass},
        "other": {c: (font, 0, song["other_programs"][k % 3], False) for k, c in enumerate(other)},
    }
    return {stem: play([x for x in notes if x[2] in chans], chans, n, sample_rate) if chans
            else np.zeros((n, 2), np.float32) for stem, chans in parts.items()}


# ---- the lead

def patch_lead(notes: list, song: dict, n: int, sample_rate: int) -> np.ndarray:
    events = [(t, "on", LEAD_CHANNEL, p, 96) for t, d, p in notes]
    events += [(t + d * 0.95, "off", LEAD_CHANNEL, p, 0) for t, d, p in notes]
    return play(events, {LEAD_CHANNEL: (song["soundfont"], 0, song["lead_patch"], False)}, n, sample_rate)


def musicxml(notes: list, tempo: int, syllables: list[str]) -> str:
    """A minimal one-part MusicXML Sinsy times correctly: divisions per beat, a leading rest bar, each note
    split at bar lines with ties, one syllable per note."""
    div = 4                                   # sixteenths
    cells = []                                # (start, length, pitch or None) in divisions, rests between notes
    pos = 4 * div                             # the leading rest bar
    cells.append((0, 4 * div, None))
    beat_s = 60.0 / tempo
    for k, (t, d, p) in enumerate(notes):
        start, length = 4 * div + int(round(t / beat_s * div)), max(1, int(round(d / beat_s * div)))
        if start > pos:
            cells.append((pos, start - pos, None))
        if start >= pos:
            cells.append((start, length, (p, syllables[k % len(syllables)])))
            pos = start + length
    bar = 4 * div
    end = -(-pos // bar) * bar + bar          # and a closing rest bar: Sinsy wants the part to end on a rest
    cells.append((pos, end - pos, None))
    steps = ("C", "C", "D", "D", "E", "F", "F", "G", "G", "A", "A", "B")
    alters = (0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0)
    measures = [[] for _ in range(end // bar)]
    for start, length, what in cells:
        first = True
        while length > 0:
            m, off = divmod(start, bar)
            piece = min(length, bar - off)
            tie_next = length > piece
            if what is None:
                xml = f"<note><rest/><duration>{piece}</duration></note>"
            else:
                pitch, syl = what
                ties = ("" if first else '<tie type="stop"/>') + ('<tie type="start"/>' if tie_next else "")
                lyric = f"<lyric><text>{syl}</text></lyric>" if first else ""
                alter = f"<alter>{alters[pitch % 12]}</alter>" if alters[pitch % 12] else ""
                xml = (f"<note><pitch><step>{steps[pitch % 12]}</step>{alter}<octave>{pitch // 12 - 1}</octave></pitch>"
                       f"<duration>{piece}</duration>{ties}{lyric}</note>")
            measures[m].append(xml)
            start, length, first = start + piece, length - piece, False
    body = []
    for i, m in enumerate(measures):
        attrs = (f"<attributes><divisions>{div}</divisions><key><fifths>0</fifths></key><time><beats>4</beats>"
                 f"<beat-type>4</beat-type></time></attributes><direction placement=\"above\"><direction-type><metronome>"
                 f"<beat-unit>quarter</beat-unit><per-minute>{tempo}</per-minute></metronome></direction-type>"
                 f"<sound tempo=\"{tempo}\"/></direction>"
                 if i == 0 else "")
        body.append(f'<measure number="{i + 1}">{attrs}{"".join(m)}</measure>')
    return ('<?xml version="1.0" encoding="UTF-8"?><score-partwise version="3.0"><part-list><score-part id="P1">'
            f'<part-name>Voice</part-name></score-part></part-list><part id="P1">{"".join(body)}</part></score-partwise>')


def sung_lead(notes: list, song: dict, n: int, sample_rate: int, work: Path) -> np.ndarray:
    """Sinsy sings the soprano line (48 kHz, mono), resampled to the corpus rate, as (n, 2)."""
    from mixlab.data.musdb_import import resample

    xml = work / "lead.musicxml"
    xml.write_text(musicxml(notes, song["tempo"], song["syllables"]), encoding="utf-8")
    sinsy = _sinsy()
    if not sinsy.loadScoreFromMusicXML(str(xml)):
        raise RuntimeError(f"{song['name']}: Sinsy could not read the lead's MusicXML")
    wav, rate = sinsy.synthesize()
    sinsy.clearScore()
    wav = np.asarray(wav, dtype=np.float64) / 32768.0
    lead_in = int(round(4 * 60.0 / song["tempo"] * rate))          # the leading rest bar
    wav = wav[lead_in:]
    wav = resample(wav[:, None], rate, sample_rate)[:, 0] if rate != sample_rate else wav
    out = np.zeros(n, dtype=np.float32)
    out[:min(n, len(wav))] = wav[:n]
    return np.stack([out, out], axis=1)


# ---- mixing and writing

def mix(stems: dict[str, np.ndarray], song: dict, sample_rate: int) -> dict[str, np.ndarray]:
    """Level, pan, high-pass, shelf EQ and reverb send per stem; one gain for all so the 16-bit sum never clips.
    Returns int16 stems."""
    import pedalboard as pb

    out = {}
    for stem in STEMS:
        x = stems[stem].astype(np.float32)
        m = song["mix"][stem]
        board = pb.Pedalboard([pb.HighpassFilter(m["highpass_hz"]),
                               pb.HighShelfFilter(cutoff_frequency_hz=min(4000.0, 0.4 * sample_rate), gain_db=m["shelf_db"]),
                               pb.Reverb(room_size=song["room"], wet_level=m["reverb"], dry_level=1.0, width=0.8)])
        y = board(x.T.copy(), sample_rate).T
        pan = m["pan"]
        y = y * np.array([np.sqrt(0.5 * (1 - pan)), np.sqrt(0.5 * (1 + pan))], dtype=np.float32) * np.sqrt(2)
        rms = float(np.sqrt(np.mean(y.astype(np.float64) ** 2)))
        out[stem] = y * (10 ** (m["gain_db"] / 20) * 0.1 / rms if rms > 1e-6 else 0.0)
    # one gain for all stems, so that no stem and not their sum leaves 16 bits: the mixture written is then
    # the exact integer sum of the stems
    peak = max([float(np.abs(sum(out.values())).max())] + [float(np.abs(x).max()) for x in out.values()])
    gain = 0.89 / peak if peak > 0.89 else 1.0
    return {stem: np.round(out[stem] * gain * 32767).astype(np.int16) for stem in STEMS}


def render_song(song: dict, spec: RenderSpec, singer: str) -> tuple[dict[str, np.ndarray], dict]:
    """The song's int16 stems (T, 2) and what it was made of."""
    n = int(round(spec.seconds * spec.sample_rate))
    arr = arrangement(song, spec.seconds)
    with tempfile.TemporaryDirectory(prefix="mixlab-render-") as tmp:
        events = band_events(arr["chords"], song["tempo"], song["groove"], song["mma_seed"], Path(tmp))
        stems = band_stems(events, song, n, spec.sample_rate)
        if singer == "sinsy":
            stems["vocals"] = sung_lead(arr["notes"], song, n, spec.sample_rate, Path(tmp))
        else:
            stems["vocals"] = patch_lead(arr["notes"], song, n, spec.sample_rate)
    made = {k: v for k, v in song.items() if k not in ("candidates", "syllables")}
    made.update(composition=Path(arr["composition"]).name, singer=singer)
    return mix(stems, song, spec.sample_rate), made


def attribution(singer: str, songs: list[dict]) -> str:
    used = {s["soundfont"] for s in songs} | {s["kit"] for s in songs}
    lines = ["# Sources of this corpus", "",
             "Rendered by `mixlab render-corpus`. Compositions: J. S. Bach's four-part chorales (public domain) "
             "as encoded in the music21 corpus (music21, BSD-3-Clause). Band parts: MMA (Musical MIDI "
             "Accompaniment, GPL-2+) grooves. Rendered with TinySoundFont (MIT).", "",
             "Recorded samples (attribution as their licences ask):", ""]
    for name in sorted(used):
        package, licence, credit = {**INSTRUMENTS, **KITS}[name]
        lines.append(f"- {credit} (Debian package {package}; {licence}). Share-alike: derived audio that "
                     "redistributes these samples carries the same licence." if "SA" in licence else
                     f"- {credit} (Debian package {package}; {licence})")
    if singer == "sinsy":
        lines.append(f"- Lead vocals: {SINGER[2]} (pysinsy, {SINGER[1]})")
    return "\n".join(lines) + "\n"


def build_corpus(root: str | Path, spec: RenderSpec, progress=print) -> Path:
    """Write root/{train,test}/<name>/{mixture,vocals,drums,bass,other}.wav (16-bit), the manifest with every
    song's sources, and ATTRIBUTION.md."""
    import soundfile as sf

    problems = check_tools(spec)
    if problems:
        raise MissingTool("the corpus renderer lacks:\n  " + "\n  ".join(problems))
    singer = "sinsy" if spec.singer == "sinsy" or (spec.singer == "auto" and sinsy_available()) else "patch"
    root = Path(root)
    songs = draw_songs(spec)
    made = {}
    total, done = sum(len(v) for v in songs.values()), 0
    for split in SPLITS:
        for song in songs[split]:
            stems, made[song["name"]] = render_song(song, spec, singer)
            folder = root / ("test" if split == "test" else "train") / song["name"]
            folder.mkdir(parents=True, exist_ok=True)
            for stem, audio in stems.items():
                sf.write(folder / f"{stem}.wav", audio, spec.sample_rate, subtype="PCM_16")
            # the exact sum of the stems as written (int16 adds without loss; mix() left room for it)
            mixture = sum(stems[s].astype(np.int32) for s in STEMS)
            assert np.abs(mixture).max() <= 32767, song["name"]          # mix() leaves the headroom
            sf.write(folder / "mixture.wav", mixture.astype(np.int16), spec.sample_rate, subtype="PCM_16")
            done += 1
            progress(f"[render] {done}/{total}: {song['name']} ({made[song['name']]['composition']}, "
                     f"{song['groove']}, {song['tempo']} bpm, lead {singer})")
    manifest = {"sample_rate": spec.sample_rate, "seed": spec.seed, "renderer": asdict(spec), "singer": singer,
                "splits": {split: track_names(spec, split) for split in SPLITS}, "songs": made}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1))
    (root / "ATTRIBUTION.md").write_text(attribution(singer, list(made.values())))
    return root
