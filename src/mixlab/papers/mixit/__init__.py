"""Paper B -- MixIT pre-training on unlabeled music with BS-Locoformer.

- `experiments`: which models Tables 1-3 need (pre-training per size and FMA subset, fine-tuning) and their specs
- `recipe`: the pre-training (MixIT) and fine-tuning (supervised, dynamic mixing) recipes
- `channel_selection`: picking 4 of the N pre-trained outputs by majority vote
- `tables`: Tables 1-3 (cSDR and uSDR)
"""
