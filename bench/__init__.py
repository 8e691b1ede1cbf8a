"""The benchmark behind `make bench` (bench/run.py is its command; bench/README.md its results).

Modules: stats (the pure statistics, formatting and targets — unit-tested in
tests/unit/test_bench_stats.py), settings (paths, subnets, timeouts), lab (the fleets it boots),
measure (the floor, the probe's shape, facts in-process, the CLI), ansible_compare (the same read
with Ansible), rollout (a rolling upgrade), report (the table and results/latest.json).
"""
