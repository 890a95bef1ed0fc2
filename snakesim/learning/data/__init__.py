"""Data: the data sets, their file formats, text corpora and how they are split.

- `datasets`: `load_dataset` (digits, CIFAR-10, MNIST, Fashion-MNIST, synthetic, text);
- `cifar`, `idx`: the CIFAR-10 python batches and MNIST's IDX files, read safely;
- `synthetic`: seeded class prototypes plus noise;
- `text`, `corpus`: text files or the generated corpus, tokenised and packed;
- `partition`: IID, Dirichlet, shards and by-source splits over the learners;
- `heterogeneity`: how different the learners' label mixes are.
"""
