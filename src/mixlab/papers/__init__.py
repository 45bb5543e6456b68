"""One room per paper: its experiment grid and run specs, its training recipe, its figures and tables.

Everything both papers use -- data layout and corpora, stem stores, samplers, models, losses, the
training engine, separation, metrics -- lives by stage under `mixlab/`; a paper's room only says
what that paper does with it.

- `random_mixing`: Paper A, random-mixing augmentation ("cacophony") with TFC-TDF-UNet v3.
- `mixit`: Paper B, MixIT pre-training on unlabeled music (FMA) with BS-Locoformer.
"""
