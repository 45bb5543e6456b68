"""The command line as a user meets it: grouped help, --version, time stamps and ETA on progress lines, and
for every subcommand a missing input, an input of the wrong kind and an unreadable one each end with one
message naming the file and what to do -- never a traceback."""
from __future__ import annotations

import json

import pytest

from mixlab.cli import GROUPS, build_parser, main
from mixlab.cli._common import ProgressLog

GARBAGE = b"\x00\xffnot what you think\x01,\n;;\x02"


def _commands():
    parser = build_parser()
    return parser, parser._subparsers._group_actions[0].choices


def test_help_groups_every_command_and_every_option_has_help():
    parser, commands = _commands()
    text = parser.format_help()
    listed = {line.split()[0] for line in text.splitlines() if line.startswith("  ") and line.split()}
    assert set(commands) <= listed, set(commands) - listed
    for group in GROUPS:
        assert f"\n{group}:" in text
    for name, sub in commands.items():
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"mixlab {name} {'/'.join(action.option_strings) or action.dest}: no help"


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("mixlab ")


def test_progress_lines_are_stamped_and_count_down(capsys):
    now = [1_000_000.0]
    log = ProgressLog(clock=lambda: now[0])
    for i in range(1, 5):
        now[0] += 30
        log(f"[train] step {i * 100}/400 loss 1.0")
    log("[fig1] wrote it")
    lines = capsys.readouterr().out.splitlines()
    assert all(line[:4].isdigit() and line[10] == " " for line in lines)       # YYYY-MM-DD HH:MM:SS first
    assert "ETA" not in lines[0]                                               # no rate from one line
    assert lines[1].endswith("(ETA 1 min 00 s)") and lines[2].endswith("(ETA 30 s)")
    assert "ETA" not in lines[3] and "ETA" not in lines[4]                     # done; no count


# Every subcommand with its main input as {}: (arguments, kind of input: file or folder).
CASES = {
    "synth": (["--out", "{tmp}/o", "--spec", "{}"], "file"),
    "render-corpus": (["--out", "{tmp}/o", "--spec", "{}"], "file"),
    "check-musdb": (["--root", "{}"], "folder"),
    "import-musdb": (["--root", "{}", "--out", "{tmp}/o", "--sample-rate", "8000"], "folder"),
    "store": (["--root", "{}", "--split", "train", "--out", "{tmp}/o", "--sample-rate", "8000"], "folder"),
    "shift-testset": (["--root", "{}", "--out", "{tmp}/o", "--kind", "time", "--value", "1", "--seed", "0",
                       "--sample-rate", "8000"], "folder"),
    "pitch-bank": (["--store", "{}", "--semitones", "1", "--out", "{tmp}/o"], "folder"),
    "song-level-store": (["--store", "{}", "--kind", "random", "--seed", "0", "--out", "{tmp}/o"], "folder"),
    "evalset": (["--store", "{}", "--chunk", "100", "--out", "{tmp}/o.csv"], "folder"),
    "fma-synth": (["--out", "{tmp}/o", "--spec", "{}"], "file"),
    "fma-prep": (["--root", "{}", "--out", "{tmp}/o", "--spec", '{{"sample_rate": 8000}}'], "folder"),
    "activity": (["--store", "{}", "--out", "{tmp}/o.json"], "folder"),
    "launch": (["--gpus", "0", "--", "{}"], "file"),
    "train": (["--spec", "{}", "--out", "{tmp}/m.pt", "--resume-dir", "{tmp}/r"], "file"),
    "separate": (["{}", "--model", "{tmp}/model.pt", "--out", "{tmp}/sep"], "file"),
    "score": (["--references", "{}", "--estimates", "{tmp}", "--out", "{tmp}/s.json"], "folder"),
    "crosscheck": (["--references", "{tmp}", "--estimates", "{tmp}", "--scores", "{}", "--out", "{tmp}/c.json"],
                   "file"),
    "aggregate": (["{}", "--out", "{tmp}/a.csv"], "file"),
    "curve": (["--snapshots", "{}", "--splits", "train", "--stores", "{tmp}", "--sets", "{tmp}/model.pt", "--out",
               "{tmp}/c.csv"], "folder"),
    "select-channels": (["--model", "{}", "--store", "{tmp}", "--out", "{tmp}/c.json"], "file"),
    "usdr": (["--tracks", "t", "--references", "{}", "--estimates", "{tmp}", "--sample-rate", "8000",
              "--mode", "joint", "--out", "{tmp}/u.csv"], "folder"),
    "import-checkpoint": (["{}", "--out", "{tmp}/m.pt"], "folder"),
    "figure": (["--spec", "{}", "--out", "{tmp}/f.pdf"], "file"),
    "compare-runs": (["{}", "{tmp}"], "folder"),
    "cost": (["--configfile", "{}"], "file"),
    "check-config": (["--configfile", "{}"], "file"),
}


NO_INPUT = {"figures"}          # lists the registry; reads nothing


def test_every_subcommand_is_covered():
    _, commands = _commands()
    assert set(CASES) | NO_INPUT == set(commands)


def _run(argv, capsys) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:           # argparse, and commands that stop with a message
        code = exc.code if isinstance(exc.code, int) else 1
        if isinstance(exc.code, str):
            print(exc.code)
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("case", ["missing", "wrong kind", "unreadable"])
@pytest.mark.parametrize("command", sorted(CASES))
def test_a_users_mistake_gets_a_message_not_a_traceback(command, case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args, kind = CASES[command]
    (tmp_path / "model.pt").write_bytes(GARBAGE)
    if case == "missing":
        target = tmp_path / "nope" / ("input" if kind == "folder" else "input.csv")
    elif case == "wrong kind":            # a folder where a file belongs and the other way round
        target = tmp_path / "kind"
        if kind == "file":
            target.mkdir()
        else:
            target.write_text("a file\n")
    else:                                   # a file of garbage, or a folder of garbage files
        if kind == "file":
            target = tmp_path / "bad.json"
            target.write_bytes(GARBAGE)
        else:
            target = tmp_path / "bad"
            target.mkdir()
            for name in ("store.json", "clips.json", "mixlab_corpus.json", "mixture.wav", "vocals.wav",
                         "merged_config.yaml"):
                (target / name).write_bytes(GARBAGE)
            (target / "train").mkdir()
            (target / "checkpoints").mkdir()
            (target / "checkpoints" / "a.pth").write_bytes(GARBAGE)
    argv = [command] + [a.format(str(target), tmp=tmp_path) for a in args]
    code, said = _run(argv, capsys)
    assert "Traceback" not in said
    assert code not in (0, None), f"mixlab {' '.join(argv)}: accepted\n{said}"
    named = [str(target), target.name, str(tmp_path / "model.pt")]
    assert any(n in said for n in named), f"mixlab {' '.join(argv)}: the message names no file:\n{said}"
    assert len(said.strip().splitlines()) <= 12, said


def test_check_config_takes_what_snakemake_takes(tmp_path, capsys):
    from tests.conftest import REPO

    code, said = _run(["check-config", "--configfile", str(REPO / "config.yaml"), "--config",
                       "presets={demo: {train: {steps: 100}}}"], capsys)
    assert code == 0 and "results/demo+" in said            # an override names its own run
    code, said = _run(["check-config", "--configfile", str(REPO / "config.yaml"), "--config", "scale=paper"], capsys)
    assert code == 2 and "--config musdb_root=" in said
    code, said = _run(["check-config", "--configfile", str(REPO / "config.yaml"), "--config", "scale"], capsys)
    assert code == 2 and "KEY=VALUE" in said and "Traceback" not in said


def test_a_model_file_that_is_no_model_is_named(tmp_path, capsys):
    blob = tmp_path / "resume.pt"
    import torch

    torch.save({"step": 3}, blob)
    code, said = _run(["separate", str(tmp_path), "--model", str(blob)], capsys)
    assert code == 2 and str(blob) in said and "mixlab train" in said and "Traceback" not in said
    (tmp_path / "rows.json").write_text(json.dumps({"a": 1}))


def test_every_figure_names_a_missing_input_and_an_unknown_key(tmp_path, capsys):
    from mixlab.papers import figures
    from mixlab.plots.figure import WRITES

    gone = str(tmp_path / "nope" / "scores.csv")
    for name, fig in figures().items():
        out = str(tmp_path / f"x{WRITES[fig.kind][1]}")
        settings = {k: [] for k in fig.params}
        spec = {"figure": name, **settings, "inputs": {k: [gone] for k in fig.inputs}}
        code, said = _run(["figure", "--spec", json.dumps(spec), "--out", out], capsys)
        assert code == 2 and gone in said and name in said and "Traceback" not in said, said
        code, said = _run(["figure", "--spec", json.dumps({**spec, "colour": 1}), "--out", out], capsys)
        assert code == 2 and "'colour'" not in said and "colour" in said, said
    code, said = _run(["figure", "--spec", json.dumps({"figure": "fig9"}), "--out", out], capsys)
    assert code == 2 and "random_mixing.fig1" in said                       # the known ones listed
    code, said = _run(["figures"], capsys)
    assert code == 0 and all(name in said for name in figures())


def test_a_settings_spec_is_the_options_it_names(tmp_path, capsys):
    from mixlab.cli._common import expand_settings

    parser = build_parser()
    argv = ["store", "--root", str(tmp_path), "--split", "train", "--out", "o", "--spec", '{"sample_rate": 8000}']
    assert parser.parse_args(expand_settings(parser, argv)) == parser.parse_args(argv[:-2] + ["--sample-rate", "8000"])
    # lists, absent values and options given by hand (which win)
    argv = ["evalset", "--store", str(tmp_path), "--out", "o.csv", "--spec", '{"chunk": 10, "seeds": [4, 5], "max_chunks": null}',
            "--chunk", "12"]
    a = parser.parse_args(expand_settings(parser, argv))
    assert (a.chunk, a.seeds, a.max_chunks) == (12, [4, 5], None)
    code, said = _run(["store", "--root", str(tmp_path), "--split", "train", "--out", str(tmp_path / "o"),
                       "--spec", '{"sample_rate": 8000, "rate": 1}'], capsys)
    assert code == 2 and "'rate'" in said and "sample_rate" in said and "Traceback" not in said


def test_a_settings_spec_written_with_equals_is_read_and_an_abbreviation_refused(tmp_path, capsys):
    from mixlab.cli._common import expand_settings

    parser = build_parser()
    argv = ["store", "--root", str(tmp_path), "--split", "train", "--out", "o", '--spec={"sample_rate": 8000}']
    assert parser.parse_args(expand_settings(parser, argv)).sample_rate == 8000
    code, said = _run(["score", "--references", str(tmp_path), "--estimates", str(tmp_path), "--out",
                       str(tmp_path / "s.json"), "--spe", '{"scorer": "fast"}'], capsys)
    assert code == 2 and "--spec" in said and "Traceback" not in said
