"""Paper B's training settings a run spec may leave out, both stages (no torch import: read at parse time)."""
from mixlab.train.defaults import ENGINE_DEFAULTS

DEFAULTS = {
    **ENGINE_DEFAULTS, "epoch_steps": 100, "lr": 1e-3, "weight_decay": 1e-2,
    "warmup_steps": 0, "decay": 1.0, "decay_start_epoch": 0, "decay_every_epochs": 1, "decay_stop_epoch": None,
    "grad_clip": 5.0,
    # fine-tuning only
    "gain_db": 10.0, "p_drop": 0.05, "freeze_separator": False, "gain_norm": "rms",
    # the stems' loss: thresholded SNR over both channels, silent only at exact zero (paper), or the
    # authors' per-channel loss with -60 dB inactivity and weight 0.1 on silent references (code)
    "snr_loss": "paper",
    # pre-training only: relative level of the two mixtures (None: as drawn); files held out for validation
    "mom_snr_db": None, "valid_files": 0,
    # the MixIT loss over the two mixtures: summed (paper eq. 2) or averaged (the authors' code)
    "mixit_reduction": "sum",
    # the least-squares assignment fitted on all channels, or on the first only (the authors' code)
    "mixit_solve_on": "all",
    # validation (with validate_every): MoMs (pre-training) or chunks of the validation songs (fine-tuning)
    "valid_chunks": 64,
}
