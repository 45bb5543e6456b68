"""torchrun entry of tests/test_distributed.py: the engine on the toy recipe of tests/test_engine.py.

    python -m torch.distributed.run --nproc-per-node=2 tests/ddp_toy.py OUT RESUME_DIR '{"compile": true}'
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mixlab.train import engine  # noqa: E402
from tests.train.test_engine import _cfg, toy  # noqa: E402


def main(out: str, resume_dir: str, overrides: str) -> None:
    tcfg = _cfg(**json.loads(overrides))
    # the toy recipe's defaults are its whole config (it takes the engine's keys plus lr)
    engine.train({"model": {"toy": 1}, "train": tcfg}, tcfg, toy(tcfg, dropout=0.0), out, resume_dir, "cpu", print)


if __name__ == "__main__":
    main(*sys.argv[1:])
