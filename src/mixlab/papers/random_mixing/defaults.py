"""Paper A's training settings a run spec may leave out (no torch import: the workflow reads them at parse time)."""
from mixlab.train.defaults import ENGINE_DEFAULTS

DEFAULTS = {
    **ENGINE_DEFAULTS, "lr": 1e-4, "ema_decay": 0.999, "target_lufs": -14.0, "p_original": 0.0,
    # sampler variations (see mixlab.papers.random_mixing.sampling)
    "fixed_mixes": None, "time_shift_s": None, "pitch_max": None, "pitch_consistent": True,
}
