"""BSS Eval v4 with museval's exact numbers, in a small fraction of its time and memory (numpy/scipy, CPU).

Computes what `museval.metrics.bss_eval(..., framewise_filters=False,
bsseval_sources_version=False)` computes: 512-tap multichannel distortion
filters fitted once on the whole track (images version, stereo channels as
images), then SDR/ISR/SIR/SAR per frame. Where museval loops over frames,
sources and channel pairs with one FFT convolution each, this does:

- the lag-limited auto/cross-correlations for G and D from block FFTs whose
  cross spectra are summed over blocks (each sample transformed once, no FFT
  of the whole padded track), plus short FFTs for pairs straddling blocks;
- one Cholesky factorisation of G, in place, shared by all estimates (museval
  solves the same system once per estimate);
- every frame's projections onto all sources and onto its own source as one
  batched per-frequency product, and all five energies (SDR's, ISR's, SIR's,
  SAR's) by Parseval, never going back to samples.

numpy/scipy only: `import torch` alone takes longer than scoring a short track,
scipy's threaded FFT is twice torch's on a CPU, and groups of frames run in two
threads. The same algorithm in torch, for `--device cuda`, is
metrics/fast_bsseval_torch.py; both are tested against museval.

Everything that feeds a metric is float64. NaN/inf follow museval: a frame in
which any reference or any estimate sums to zero over channels at every sample
gets NaN for all sources; a zero denominator gives +inf.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.fft as sfft
import scipy.linalg as sla

FILTERS_LEN = 512


def _fft_len(n: int) -> int:
    """A fast FFT length >= n: 2^a times 1, 3, 5, 9, 15 or 45 (few odd factors are fastest).

    A 1 s frame at 44.1 kHz plus 511 filter taps (44611) gets 46080, not 65536.
    """
    return min(odd << max(0, int(np.ceil(np.log2(n / odd)))) for odd in (1, 3, 5, 9, 15, 45))


class _Signals:
    """References and estimates (S, T, C) seen as J = 2*S*C channel rows z = [x; e], read block by block."""

    def __init__(self, refs: np.ndarray, ests: np.ndarray):
        self.refs, self.ests = refs, ests
        self.S, self.T, self.C = refs.shape
        self.I = self.S * self.C

    def blocks(self, starts: list[int], length: int, width: int) -> np.ndarray:
        """z[:, s:s+length] for each start, zero-padded to width -> (nb, J, width) float64."""
        buf = np.empty((len(starts), 2, self.S, self.C, width))
        for b, start in enumerate(starts):
            lo, hi = max(start, 0), min(start + length, self.T)
            if lo >= hi:
                buf[b] = 0.0
                continue
            buf[b, ..., : lo - start] = 0.0
            buf[b, ..., hi - start:] = 0.0
            for k, sig in enumerate((self.refs, self.ests)):
                buf[b, k, ..., lo - start:hi - start] = sig[:, lo:hi].transpose(0, 2, 1)
        return buf.reshape(len(starts), 2 * self.I, width)


def _spectra(buf: np.ndarray, workers: int) -> np.ndarray:
    """(nb, J, n) blocks -> their rfft (n//2 + 1, nb, J), frequency-major for the per-frequency products.

    Transforming along the contiguous axis, then transposing, is twice as fast
    as transforming along a strided one.
    """
    nb, J, n = buf.shape
    spec = sfft.rfft(buf.reshape(nb * J, n), axis=-1, workers=workers)
    return np.ascontiguousarray(spec.T).reshape(-1, nb, J)


def _boundary_correlations(z: _Signals, bounds: list[int], pad: int, workers: int) -> np.ndarray:
    """Sum over block boundaries p of the pairs (t, t + k), |k| <= pad, with t and t + k on opposite sides of p.

    Returns (I, J, 2*pad + 1) indexed by k + pad. Needs every block (but the
    last) to be at least pad long, so that no pair straddles two boundaries.
    """
    I = z.I
    m = 1 << int(np.ceil(np.log2(2 * pad)))
    Lf = _spectra(z.blocks([p - pad for p in bounds], pad, m), workers)   # z[p - pad : p], (F2, nb, J)
    Rf = _spectra(z.blocks(bounds, pad, m), workers)                      # z[p : p + pad]
    # k > 0: x on the left, z on the right; lag k sits at circular index k - pad
    pos = sfft.irfft(Lf[..., :I].conj().transpose(0, 2, 1) @ Rf, n=m, axis=0, workers=workers)     # (m, I, J)
    # k < 0: x on the right, z on the left; lag k sits at index k + pad
    neg = sfft.irfft(Rf[..., :I].conj().transpose(0, 2, 1) @ Lf, n=m, axis=0, workers=workers)
    r = np.zeros((I, 2 * I, 2 * pad + 1))
    k = np.arange(1, pad + 1)
    r[..., pad + 1:] = pos[(k - pad) % m].transpose(1, 2, 0)
    r[..., :pad] = neg[:pad].transpose(1, 2, 0)
    return r


def _lagged_correlations(z: _Signals, max_lag: int, workers: int, fft_size: int = 1 << 16,
                         blocks_per_batch: int = 8) -> np.ndarray:
    """r[i, j, k] = sum_t x_i[t] z_j[t + k] for |k| < max_lag, as (I, J, 2*max_lag - 1), z = [x, e].

    Blocks partition the track; each block's circular correlation in
    nc >= block + max_lag - 1 holds every lag without wrap-around, so the
    blocks' cross spectra are summed, per frequency, and transformed back once.
    The pairs straddling a block boundary come from short FFTs.
    """
    I, pad = z.I, max_lag - 1
    nc = max(fft_size, 1 << int(np.ceil(np.log2(4 * pad))))
    block = nc - pad
    starts = list(range(0, z.T, block))

    def correlate(groups):      # sum over the groups' blocks of conj(X_i) Z_j per frequency
        acc = np.zeros((nc // 2 + 1, I, 2 * I), dtype=np.complex128)
        for g in groups:
            Z = _spectra(z.blocks(starts[g:g + blocks_per_batch], block, nc), 1)     # (F, nb, J)
            acc += Z[..., :I].conj().transpose(0, 2, 1) @ Z
        return acc

    acc = sum(_in_threads(correlate, range(0, len(starts), blocks_per_batch), workers))
    full = sfft.irfft(acc, n=nc, axis=0, workers=workers)          # (nc, I, J), circular lag index
    del acc
    r = np.concatenate([full[nc - pad:], full[: pad + 1]]).transpose(1, 2, 0)   # (I, J, 2L-1), index k + pad
    if len(starts) > 1:
        r += _boundary_correlations(z, starts[1:], pad, workers)
    return r


def _gram(r: np.ndarray, L: int) -> np.ndarray:
    """r (I, I, 2L-1) indexed by lag k + L - 1 -> G (I*L, I*L) with G[(j, a), (i, b)] = r[i, j, b - a].

    Built by one gather straight into its final layout (no (I, I, L, L) intermediate).
    """
    I = r.shape[0]
    a = np.arange(L)
    i = np.arange(I)
    lag = (a[None, :] - a[:, None]) + (L - 1)                     # [a, b] -> b - a + L - 1
    return r[i[None, None, :, None], i[:, None, None, None], lag[None, :, None, :]].reshape(I * L, I * L)


def _solve(G: np.ndarray, D: np.ndarray, rebuild=None) -> np.ndarray:
    """museval: solve(G + eps I, D), least squares when that matrix is singular.

    G is a Gram matrix, so Cholesky (half LU's cost) solves it; where rounding
    leaves it not numerically positive definite, LU as museval, then lstsq.
    With rebuild (a function returning G afresh) G is factorised in place, no
    copy of it is held, and rebuild() supplies G again for the rare fallback.
    """
    eps = np.finfo(float).eps
    A = G if rebuild is not None else G.copy()
    A.flat[:: A.shape[0] + 1] += eps
    try:
        factor = sla.cho_factor(A, lower=True, overwrite_a=True, check_finite=False)
        return sla.cho_solve(factor, D, check_finite=False)
    except np.linalg.LinAlgError:
        pass
    A = rebuild() if rebuild is not None else G.copy()
    A.flat[:: A.shape[0] + 1] += eps
    try:
        return np.linalg.solve(A, D)
    except np.linalg.LinAlgError:   # exactly singular
        return np.linalg.lstsq(A, D, rcond=None)[0]


def _silent_sources(x: np.ndarray) -> np.ndarray:
    """(S, t, C) -> (S,) True where the channel sum is zero at every sample (museval's test).

    For two channels a + b == 0 holds exactly in any float precision iff a == -b,
    so the native dtype gives museval's float64 answer without a float64 copy.
    """
    total = x[..., 0] + x[..., 1] if x.shape[-1] == 2 else x.sum(-1, dtype=np.float64)
    return ~total.any(-1)


def _validate(refs: np.ndarray, ests: np.ndarray, step: int = 1 << 20) -> None:
    if refs.shape != ests.shape:
        raise ValueError(f"references {refs.shape} and estimates {ests.shape} differ in shape")
    for what, x in (("reference", refs), ("estimated", ests)):
        silent = np.ones(x.shape[0], dtype=bool)
        for t in range(0, x.shape[1], step):
            silent &= _silent_sources(x[:, t:t + step])
        if silent.any():
            raise ValueError(f"All the {what} sources should be non-silent (not all-zeros), but at least one "
                             f"{what} source is all 0s (as museval, BSS Eval is undefined then).")


def _silent_frames(z: _Signals, starts: list[int], length: int) -> np.ndarray:
    """(nb,) True where some reference or estimate is silent in the frame: museval gives it NaN throughout."""
    return np.array([_silent_sources(z.refs[:, s:s + length]).any() or _silent_sources(z.ests[:, s:s + length]).any()
                     for s in starts], dtype=bool)


def _safe_db(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """10 log10(num / den), +inf where den == 0 (museval's _safe_db)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 10 * np.log10(num / den)
    return np.where(den == 0, np.inf, out)


def _in_threads(fn, items, workers: int) -> list:
    """fn(items[k::workers]) for k < workers, each in its own thread; their results.

    Most of the work is many small numpy operations that run on one core each
    (batched tiny matrix products, copies, reductions) and release the GIL, so
    groups of frames run side by side rather than each op on all cores.
    """
    items = list(items)
    parts = [items[k::workers] for k in range(min(workers, len(items)))]
    if len(parts) <= 1:
        return [fn(items)]
    with ThreadPoolExecutor(len(parts)) as pool:
        return list(pool.map(fn, parts))


def bss_eval_v4(references, estimates, window: int, hop: int, filters_len: int = FILTERS_LEN,
                frames_per_batch: int = 8, blocks_per_batch: int = 4, workers: int | None = None):
    """references, estimates: (nsrc, nsampl, nchan) -> SDR, ISR, SIR, SAR as numpy (nsrc, nwin).

    Inputs stay in their own dtype (float32 audio is exact in float64); every
    block or frame is promoted to float64 where it is used. `workers`: FFT
    threads (default: the CPUs this process may use).
    """
    refs, ests = np.asarray(references), np.asarray(estimates)
    if refs.ndim == 2:
        refs, ests = refs[..., None], ests[..., None]
    _validate(refs, ests)
    workers = workers or len(os.sched_getaffinity(0))
    z = _Signals(refs, ests)
    S, T, C = refs.shape
    I, L, pad = z.I, filters_len, filters_len - 1

    # frames exactly as museval's Framing: full windows only (or one window over a short track)
    if window < T:
        nwin, Lw = int(np.floor((T - window + hop) / hop)), window
    else:
        nwin, Lw = 1, T

    # --- pass 1: lag-limited correlations over the whole track
    r = _lagged_correlations(z, L, workers, blocks_per_batch=blocks_per_batch)

    # --- the distortion filters: one Cholesky of G for all estimates, one small one per source
    rxx, rxe = r[:, :I], r[:, I:]
    D = np.ascontiguousarray(rxe[..., pad:].transpose(0, 2, 1)).reshape(I * L, I)   # rows (j, cj, a), cols (jest, c)
    G = _gram(rxx, L)
    Gd, Dd = G.reshape(S, C * L, S, C * L), D.reshape(S, C * L, S, C)
    Cj = np.stack([_solve(Gd[j, :, j], Dd[j, :, j]) for j in range(S)])     # (j, (cj, a), c)
    del Gd
    Cf = _solve(G, D, rebuild=lambda: _gram(rxx, L)).reshape(S, C, L, S, C)
    del G
    # One (SC x 2SC) matrix per frequency maps the reference channels (j, cj) to all projections: columns
    # (jest, c) onto every source, then columns (j, c) onto source j only (block diagonal), so that one
    # batched product gives both.
    n = _fft_len(Lw + L - 1)                                      # holds a frame's whole linear convolution
    F = n // 2 + 1
    H = np.zeros((F, S, C, 2, S, C), dtype=np.complex128)        # (F, (j, cj), (all|own, jest, c))
    H[:, :, :, 0] = sfft.rfft(Cf, n=n, axis=2, workers=workers).transpose(2, 0, 1, 3, 4)
    Hj = sfft.rfft(Cj.reshape(S, C, L, C), n=n, axis=2, workers=workers)    # (j, cj, F, c)
    for j in range(S):
        H[:, j, :, 1, j] = Hj[j].transpose(1, 0, 2)
    H = H.reshape(F, I, 2 * I)
    del Hj

    # Parseval weights of a one-sided spectrum: energies of the filtered frames are summed
    # in the frequency domain, so no projection goes back to samples.
    weight = np.full(F, 2.0 / n)
    weight[0] = 1.0 / n
    if n % 2 == 0:
        weight[-1] = 1.0 / n

    def energies(P):       # (F, nb, k*I) complex -> (k, S, nb): one weighted sum over the re/im parts
        v = P.view(np.float64)
        e = np.einsum("f,fbq,fbq->bq", weight, v, v).reshape(v.shape[1], -1, S, C, 2).sum((3, 4))
        return e.transpose(1, 2, 0)

    # --- pass 2: every frame's projections and energies, from its spectra (Parseval)
    metrics = np.full((4, S, nwin), np.nan)
    silent = np.zeros(nwin, dtype=bool)

    def project(first_frames):
        for f0 in first_frames:
            sl = slice(f0, min(nwin, f0 + frames_per_batch))
            frames = [f * hop for f in range(sl.start, sl.stop)]
            silent[sl] = _silent_frames(z, frames, Lw)
            Z = _spectra(z.blocks(frames, Lw, n), 1)                 # (F, nb, J)
            R, E = Z[..., :I], Z[..., I:]
            P = R @ H                                                 # (F, nb, 2I): p_all, p_own
            p_all, p_own = P[..., :I], P[..., I:]
            # e - s (v4 SDR needs no projection), p_own - s, p_all - p_own, e - p_all
            diff = np.empty(P.shape[:2] + (4 * I,), dtype=P.dtype)
            for k, (a, b) in enumerate(((E, R), (p_own, R), (p_all, p_own), (E, p_all))):
                np.subtract(a, b, out=diff[..., k * I:(k + 1) * I])
            e_true = energies(Z)[0]
            e_all, e_own = energies(P)
            e_err, e_spat, e_interf, e_artif = energies(diff)
            metrics[0, :, sl] = _safe_db(e_true, e_err)               # SDR
            metrics[1, :, sl] = _safe_db(e_true, e_spat)              # ISR
            metrics[2, :, sl] = _safe_db(e_own, e_interf)             # SIR
            metrics[3, :, sl] = _safe_db(e_all, e_artif)              # SAR

    _in_threads(project, range(0, nwin, frames_per_batch), workers)
    metrics[:, :, silent] = np.nan
    return tuple(metrics)
