"""Training settings a run spec may leave out (no torch import: the workflow reads these at parse time)."""
from mixlab.config import NOT_IN_WEIGHTS, ConfigError

# what the training engine (train/engine.py) reads of every recipe's train section
ENGINE_DEFAULTS = {
    "steps": 1000, "batch_size": 4, "grad_clip": 0.0, "checkpoint_every": 100, "log_every": 10, "seed": 0,
    "snapshot_every": 0,            # weights kept every K steps (Paper A Fig. 2's curves); 0: none
    "validate_every": 0,            # validation loss every K steps; 0: none
    "keep_best": 0,                 # keep the K checkpoints with the lowest validation loss
    "average_best": False,          # final model = average of the kept best checkpoints
    "workers": 0,                   # background processes that prepare batches; 0: in the training process
    "amp": "fp16",                  # CUDA autocast: fp16 (+ loss scaling), bf16, or fp32 (none)
    "cpu_amp": "fp32",              # CPU autocast: fp32 (none) or bf16 (where the CPU computes in bf16)
    "compile": False,               # torch.compile the network (forward and backward)
    # micro-batches per step and process: batch_size = processes x micro-batch x accumulate; the gradient is
    # that of the whole batch's mean whatever the split, so a run may resume on another number of GPUs
    "accumulate": 1,
    # recompute each block's activations in the backward pass (less memory, ~1/3 more compute, same gradients)
    "checkpoint_activations": False,
}

def same_training(a: dict, b: dict, defaults: dict) -> bool:
    """Whether two run specs train the same model under a recipe's `defaults` (snapshots taken along the way,
    the hardware split and the separation settings do not change it)."""
    def norm(spec):
        train = {**defaults, **spec["train"]}
        for key in ("snapshot_every", *NOT_IN_WEIGHTS):      # none changes the weights
            train.pop(key, None)
        return {**{k: v for k, v in spec.items() if k not in ("separate", "inputs")}, "train": train}
    return norm(a) == norm(b)


def with_defaults(spec: dict, defaults: dict) -> dict:
    """The spec with its recipe's defaults filled in; a key the recipe does not take is an error naming it."""
    unknown = sorted(set(spec.get("train", {})) - set(defaults))
    if unknown:
        raise ConfigError(f"unknown train key(s) {', '.join(map(repr, unknown))} for recipe {spec.get('recipe')!r}; "
                          f"it takes {', '.join(sorted(defaults))}")
    return {**spec, "train": {**defaults, **spec.get("train", {})}}
