"""Training losses of Paper B (thresholded SNR, MixIT)."""
