"""Training settings a run spec may leave out (no torch import: the workflow reads these at parse time)."""

TRAIN_DEFAULTS = {
    "steps": 1000, "batch_size": 4, "lr": 1e-4, "ema_decay": 0.999, "grad_clip": 0.0,
    "checkpoint_every": 100, "log_every": 10, "seed": 0, "target_lufs": -14.0, "p_original": 0.0,
    # sampler variations (see mixlab.data.sampling)
    "fixed_mixes": None, "time_shift_s": None, "pitch_max": None, "pitch_consistent": True,
    # EMA weights kept every K steps for training curves (Paper A Fig. 2); 0: none
    "snapshot_every": 0,
    # engine settings (train/engine.py): validation, best-k averaging, batch-preparing workers
    "validate_every": 0, "keep_best": 0, "average_best": False, "workers": 0,
}


def same_training(a: dict, b: dict) -> bool:
    """Whether two run specs train the same model (snapshots taken along the way do not change it)."""
    def norm(spec):
        train = {**TRAIN_DEFAULTS, **spec["train"]}
        for key in ("snapshot_every", "workers"):        # neither changes the weights
            train.pop(key)
        return {**spec, "train": train}
    return norm(a) == norm(b)
