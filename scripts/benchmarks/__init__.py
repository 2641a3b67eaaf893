"""The benchmark behind scripts/bench.py, one module per job.

common: sizes, data, results and constants; tables: DDL, seed rows and raw driver connections;
impls: one module per library measured; workloads: the timed, memory and pool measurements;
harness: runs them in interleaved rounds; targets: activerecord's goals and peer verdicts;
report: the markdown tables; cli: the command line.
"""
