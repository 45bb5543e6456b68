"""Paper A -- random mixing ("cacophony") with TFC-TDF-UNet v3.

- `experiments`: which models Figs. 1-5 and Table 1 train (model ids are file names) and their specs
- `recipe`: the training recipe (MSE on waveforms, Adam, EMA; original vs random mixes, eq. 2)
- `curves`: Fig. 2's scoring of training snapshots on fixed evaluation chunks
- `fig1`, `fig2`, `fig3`, `shifts` (Figs. 4 and 5), `tables` (Table 1)
"""
