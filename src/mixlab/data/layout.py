"""The corpus layout every reader shares: MUSDB18-HQ's stems and mixlab's corpus manifest.

`root/{train,test}/<track>/{mixture,vocals,drums,bass,other}.wav`; a corpus mixlab
writes itself (synthetic, or real MUSDB18-HQ resampled to a scale's rate) also holds
MANIFEST, which lists its train/valid/test tracks.
"""
STEMS = ("vocals", "drums", "bass", "other")
SPLITS = ("train", "valid", "test")
MANIFEST = "mixlab_corpus.json"
