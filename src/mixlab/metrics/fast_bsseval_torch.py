"""BSS Eval v4 with museval's exact numbers, in torch: the fast scorer on a GPU (`--device cuda`).

The algorithm, its float64 arithmetic and museval's NaN/inf conventions are those of
metrics/fast_bsseval.py, which the CPU runs (no torch import, scipy's faster FFTs); this
version differs in layout only: FFTs written straight into frequency-major buffers, own-source
and all-source projections as two batched products. Both are tested against museval.
"""
from __future__ import annotations

import numpy as np
import torch

from mixlab.metrics.fast_bsseval import FILTERS_LEN, _fft_len


def _next_fast_len(n: int) -> int:
    return 1 << int(np.ceil(np.log2(n)))


def _rfft_freq_major(rows: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """rfft of rows (K, n) written frequency-major into out (n//2+1, ...) holding K values per frequency.

    The per-frequency batched matmuls need frequency-major spectra; writing the
    transform straight into a transposed view costs about nothing, where
    transposing its result afterwards costs as much as the FFT itself.
    """
    return torch.fft.rfft(rows, out=out.reshape(out.shape[0], -1).t())


def _lagged_correlations(x: torch.Tensor, y: torch.Tensor, max_lag: int, fft_size: int = 1 << 16,
                         blocks_per_step: int = 8) -> torch.Tensor:
    """r[i, j, k] = sum_t x[i, t] * z[j, t + k] for |k| < max_lag, as (I, J, 2*max_lag - 1), z = [x, y].

    x and y are (S, T, C) signals (any float dtype) whose channels are
    flattened: I = S*C, J = 2*S*C. The track is cut into non-overlapping
    blocks, each zero-padded to fft_size >= block + max_lag - 1 so its circular
    correlations hold every lag |k| < max_lag without wrap-around; their cross
    spectra are summed over blocks by a batched matmul per frequency. Each
    sample is transformed once (x's spectra are the first I rows of z's), and
    the pairs of samples that straddle a block boundary are added from short
    FFTs of the max_lag - 1 samples either side of it. Buffers are time-major,
    so the FFTs (along dim 0) leave the spectra frequency-major for the matmul
    without a transpose. Float64 throughout; memory O(channels x fft_size)
    whatever the track length.
    """
    S, T, C = x.shape
    pad = max_lag - 1
    n = max(fft_size, _next_fast_len(2 * pad + 1))
    block = n - pad
    I, J = S * C, 2 * S * C
    dev = x.device

    def fill(dst, start, length):      # dst (J, width) <- z[:, start:start+length], zeros outside the track
        lo, hi = max(start, 0), min(start + length, T)
        dst.zero_()
        if lo < hi:
            for k, sig in enumerate((x, y)):
                dst[k * I:(k + 1) * I, lo - start:hi - start].unflatten(0, (S, C)).copy_(sig[:, lo:hi].transpose(1, 2))

    # conj of the cross spectra: acc[f, j, i] = sum over blocks of conj(Z_j) X_i
    acc = torch.zeros((n // 2 + 1, J, I), dtype=torch.complex128, device=dev)
    buf = torch.zeros((blocks_per_step, J, n), dtype=torch.float64, device=dev)
    spec = torch.empty((n // 2 + 1, blocks_per_step, J), dtype=torch.complex128, device=dev)
    starts = list(range(0, T, block))
    for g in range(0, len(starts), blocks_per_step):
        group = starts[g:g + blocks_per_step]
        nb = len(group)
        for b, s in enumerate(group):
            fill(buf[b], s, block)
        Z = spec if nb == blocks_per_step else spec.new_empty((n // 2 + 1, nb, J))    # (F, nb, J)
        _rfft_freq_major(buf[:nb].reshape(nb * J, n), Z)
        acc.baddbmm_(Z.mH, Z[..., :I])
    del buf, spec
    full = torch.fft.irfft(acc.conj_physical_().permute(2, 1, 0), n=n)   # full[i, j, m] = sum_t x_i[t] z_j[t + m mod n]
    del acc
    r = torch.cat([full[..., n - pad:], full[..., : pad + 1]], -1)         # (I, J, 2L-1), index k + pad
    del full

    # pairs (t, t + k) with t and t + k on opposite sides of a block boundary p
    bounds = starts[1:]
    if bounds:
        m = _next_fast_len(2 * pad)
        left = torch.zeros((len(bounds), J, m), dtype=torch.float64, device=dev)   # z[p - pad : p]
        right = torch.zeros_like(left)                                              # z[p : p + pad]
        for b, p in enumerate(bounds):
            fill(left[b], p - pad, pad)
            fill(right[b], p, pad)
        Lf, Rf = torch.fft.rfft(left), torch.fft.rfft(right)                   # (nbnd, J, F2)
        # k > 0: x on the left, z on the right; lag k sits at circular index k - pad
        pos = torch.fft.irfft(torch.einsum("bif,bjf->ijf", Lf[:, :I].conj(), Rf), n=m)
        # k < 0: x on the right, z on the left; lag k sits at index k + pad
        neg = torch.fft.irfft(torch.einsum("bif,bjf->ijf", Rf[:, :I].conj(), Lf), n=m)
        k = torch.arange(1, pad + 1, device=dev)
        r[..., pad + 1:] += pos[..., (k - pad) % m]
        r[..., :pad] += neg[..., :pad]
    return r


def _gram(r: torch.Tensor, L: int) -> torch.Tensor:
    """r (I, I, 2L-1) indexed by lag k + L - 1 -> G (I*L, I*L) with G[(j, a), (i, b)] = r[i, j, b - a].

    Built by one gather straight into its final layout (no (I, I, L, L) intermediate).
    """
    I = r.shape[0]
    a = torch.arange(L, device=r.device)
    i = torch.arange(I, device=r.device)
    lag = (a[None, :] - a[:, None]) + (L - 1)                     # [a, b] -> b - a + L - 1
    G = r[i[None, None, :, None], i[:, None, None, None], lag[None, :, None, :]]   # (j, a, i, b)
    return G.reshape(I * L, I * L)


def _solve(G: torch.Tensor, D: torch.Tensor, rebuild=None) -> torch.Tensor:
    """museval: solve(G + eps I, D), least squares when that matrix is singular.

    G is a Gram matrix, so Cholesky (half LU's cost) solves it; where rounding
    leaves it not numerically positive definite, LU as museval, then lstsq.
    With rebuild (a function returning G afresh) G is factorised in place, no
    copy of it is held, and rebuild() supplies G again for the rare fallback.
    """
    eps = np.finfo(float).eps
    A = G if rebuild is not None else G.clone()
    A.diagonal().add_(eps)
    info = torch.empty((), dtype=torch.int32, device=A.device)
    torch.linalg.cholesky_ex(A, out=(A, info))
    if int(info) == 0:
        return torch.cholesky_solve(D, A)
    A = rebuild() if rebuild is not None else G.clone()
    A.diagonal().add_(eps)
    try:
        return torch.linalg.solve(A, D)
    except RuntimeError:  # torch.linalg.LinAlgError subclasses RuntimeError: exactly singular
        return torch.linalg.lstsq(A.cpu(), D.cpu(), driver="gelsd").solution.to(G.device)


def _frame_silent(frames: torch.Tensor) -> torch.Tensor:
    """frames (S, C, nwin, Lw) -> (nwin,) True where some source sums to zero over channels everywhere.

    For two channels a + b == 0 is exact in any precision (iff a == -b), so the
    input dtype answers as museval's float64 sum does.
    """
    total = frames[:, 0] + frames[:, 1] if frames.shape[1] == 2 else frames.double().sum(1)
    return (total == 0).all(-1).any(0)


def _safe_db(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """10 log10(num / den), +inf where den == 0 (museval's _safe_db)."""
    out = 10 * torch.log10(num / den)
    return torch.where(den == 0, torch.full_like(out, float("inf")), out)


def _silent_sources(x: torch.Tensor, step: int = 1 << 20) -> torch.Tensor:
    """(S, T, C) -> (S,) True where the channel sum is zero at every sample (museval's test).

    For two channels a + b == 0 holds exactly in any float precision iff a == -b,
    so the native dtype gives museval's float64 answer without a float64 copy.
    """
    silent = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
    for t in range(0, x.shape[1], step):
        chunk = x[:, t:t + step]
        total = chunk[..., 0] + chunk[..., 1] if x.shape[-1] == 2 else chunk.double().sum(-1)
        silent &= (total == 0).all(-1)
    return silent


def _validate(refs: torch.Tensor, ests: torch.Tensor) -> None:
    if refs.shape != ests.shape:
        raise ValueError(f"references {tuple(refs.shape)} and estimates {tuple(ests.shape)} differ in shape")
    for what, x in (("reference", refs), ("estimated", ests)):
        if _silent_sources(x).any():
            raise ValueError(f"All the {what} sources should be non-silent (not all-zeros), but at least one "
                             f"{what} source is all 0s (as museval, BSS Eval is undefined then).")


@torch.no_grad()
def bss_eval_v4(references, estimates, window: int, hop: int, filters_len: int = FILTERS_LEN,
                device: str | torch.device = "cpu", frames_per_batch: int = 8):
    """references, estimates: (nsrc, nsampl, nchan) -> SDR, ISR, SIR, SAR as numpy (nsrc, nwin)."""
    dev = torch.device(device)
    # Inputs stay in their own dtype (float32 audio is exact in float64); every
    # block or frame is promoted to float64 where it is used.
    refs = torch.as_tensor(np.asarray(references)).to(dev)
    ests = torch.as_tensor(np.asarray(estimates)).to(dev)
    if refs.ndim == 2:
        refs, ests = refs[..., None], ests[..., None]
    _validate(refs, ests)
    S, T, C = refs.shape
    L = filters_len

    # G[(j, cj, a), (i, ci, b)] = <x_j(t - a), x_i(t - b)>;  D[(j, cj, a), (jest, c)] = <x_j(t - a), e(t)>
    r = _lagged_correlations(refs, ests, L)             # (SC, 2SC, 2L-1), lag k: x_i[t] x_j[t+k]
    rxx, rxe = r[:, : S * C], r[:, S * C:]
    D = rxe[..., L - 1:]                                         # lags 0 .. L-1
    D = D.permute(0, 2, 1).reshape(S * C * L, S * C)             # rows (j, a), cols (jest, c)

    G = _gram(rxx, L)                                            # rows (j, cj, a), cols (i, ci, b)
    Gd = G.reshape(S, C * L, S, C * L)
    Dd = D.reshape(S, C * L, S, C)
    Cj = torch.stack([_solve(Gd[j, :, j], Dd[j, :, j]) for j in range(S)])   # (j, C*L, C)
    del Gd
    # one factorisation for every estimate (museval solves the same system once per estimate)
    Cf = _solve(G, D, rebuild=lambda: _gram(rxx, L)).reshape(S, C, L, S, C)
    del G
    Cf = Cf.permute(3, 0, 1, 4, 2)                               # (jest, j, cj, c, L)
    Cj = Cj.reshape(S, C, L, C).permute(0, 1, 3, 2)              # (j, cj, c, L)

    # frames exactly as museval's Framing: full windows only (or one window over a short track)
    if window < T:
        nwin = int(np.floor((T - window + hop) / hop))
        Lw = window
    else:
        nwin, Lw = 1, T
    n = _fft_len(Lw + L - 1)                                     # holds the whole linear convolution
    # One (2SC x SC) matrix per frequency maps the reference channels (j, cj) to all
    # projections: rows (jest, c) onto every source (C), then rows (j, c) onto source j only (Cj).
    H_all = torch.fft.rfft(Cf, n=n).permute(4, 0, 3, 1, 2).reshape(-1, S * C, S * C)   # (F, (s,c), (j,k))
    H_own = torch.zeros((S, C, S, C, n // 2 + 1), dtype=torch.complex128, device=dev)
    Hj = torch.fft.rfft(Cj, n=n)                                                     # (j, cj, c, F)
    for j in range(S):
        H_own[j, :, j] = Hj[j].permute(1, 0, 2)                                       # (c, cj, F)
    H_own = H_own.permute(4, 0, 1, 2, 3).reshape(-1, S * C, S * C).contiguous()                # (F, (j,c), (j,k))
    metrics = torch.full((4, S, nwin), float("nan"), dtype=torch.float64, device=dev)

    # Parseval weights of a one-sided spectrum: energies of the filtered signals are
    # summed in the frequency domain, so no projection ever goes back to samples.
    weight = torch.full((n // 2 + 1,), 2.0 / n, dtype=torch.float64, device=dev)
    weight[0] = 1.0 / n
    if n % 2 == 0:
        weight[-1] = 1.0 / n

    frames = refs.unfold(1, Lw, hop)                              # (S, nwin, C, Lw) views, no copy
    est_frames = ests.unfold(1, Lw, hop)
    SC, nbmax = S * C, min(nwin, frames_per_batch)
    F = n // 2 + 1
    # Zero-padded float64 frames (refs, then estimates): the padding is written once
    # (rfft's own padding path costs more than the transform). Energies of the
    # projections are weighted sums over the one-sided spectrum (Parseval), so no
    # projection goes back to samples.
    buf = torch.zeros((2, S, C, nbmax, n), dtype=torch.float64, device=dev)
    spec = torch.empty((F, 2 * SC, nbmax), dtype=torch.complex128, device=dev)
    def energy(Z):  # (F, SC, nb) complex scratch -> (S, nb); squares Z in place, then one weighted GEMV
        zr = torch.view_as_real(Z).reshape(F, -1)
        return (weight @ zr.square_()).reshape(S, C, -1, 2).sum((1, 3))

    # three frequency-domain scratch buffers: p_all, p_own and their differences
    scratch = torch.empty((3, F, SC, nbmax), dtype=torch.complex128, device=dev)
    for f0 in range(0, nwin, frames_per_batch):
        sl = slice(f0, min(nwin, f0 + frames_per_batch))
        nb = sl.stop - sl.start
        ok = ~(_frame_silent(frames[:, sl].transpose(1, 2)) | _frame_silent(est_frames[:, sl].transpose(1, 2)))
        b = buf[:, :, :, :nb]
        rf, ef = b[0, ..., :Lw], b[1, ..., :Lw]                    # (S, C, nb, Lw)
        rf.copy_(frames[:, sl].transpose(1, 2))
        ef.copy_(est_frames[:, sl].transpose(1, 2))
        e_true = rf.square().sum((1, 3))                          # (S, nb)
        sdr = _safe_db(e_true, (ef - rf).square_().sum((1, 3)))  # v4 SDR needs no projection
        Z = spec if nb == nbmax else spec.new_empty((F, 2 * SC, nb))
        _rfft_freq_major(b.reshape(-1, n), Z)
        R, E = Z[:, :SC], Z[:, SC:]                               # (F, SC, nb)
        p_all, p_own, diff = scratch if nb == nbmax else scratch.new_empty((3, F, SC, nb))
        torch.bmm(H_all, R, out=p_all)
        torch.bmm(H_own, R, out=p_own)
        isr = _safe_db(e_true, energy(torch.sub(p_own, R, out=diff)))
        e_interf = energy(torch.sub(p_all, p_own, out=diff))
        e_artif = energy(torch.sub(E, p_all, out=diff))
        sir = _safe_db(energy(p_own), e_interf)
        sar = _safe_db(energy(p_all), e_artif)
        block = torch.stack([sdr, isr, sir, sar])                 # (4, S, nb)
        block[:, :, ~ok] = float("nan")
        metrics[:, :, sl] = block
    sdr, isr, sir, sar = metrics.cpu().numpy()
    return sdr, isr, sir, sar
