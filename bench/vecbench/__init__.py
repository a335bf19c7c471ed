"""vecdb benchmark suite: loads a dataset into a scratch Postgres cluster, builds
vecdb indexes, runs the query set and compares with in-process references
(hnswlib, FAISS). Entry point: bench/run.py."""
