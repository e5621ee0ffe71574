# SPDX-License-Identifier: MIT
# Python's multiprocessing.Manager, measured as bench/manager_bench measures tubo's dict
# and Namespace. With -p 1 (the default) it is the project's anchor py_manager.py: one
# process, N writes d[i] = i, N reads d[i], N Namespace sets ns.x = i. With -p P, P
# processes started together at a barrier, each on keys of its own in one dict and its own
# Namespace attribute; a rate is P * N over the slowest process's time. Prints one line:
#   manager impl=python procs=P dict_writes_per_s=W dict_reads_per_s=R ns_sets_per_s=A
import multiprocessing as mp
import sys
import time


def loops(d, ns, me, n):
    name = "x%d" % me
    t0 = time.perf_counter()
    for i in range(n):
        d["%d-%d" % (me, i)] = i
    t1 = time.perf_counter()
    for i in range(n):
        if d["%d-%d" % (me, i)] != i:
            raise SystemExit("wrong value")
    t2 = time.perf_counter()
    for i in range(n):
        setattr(ns, name, i)
    t3 = time.perf_counter()
    return (t1 - t0, t2 - t1, t3 - t2)


def worker(d, ns, me, n, barrier, times):
    barrier.wait()
    times[me] = loops(d, ns, me, n)


def main():
    n, procs = 20000, 1
    args = sys.argv[1:]
    while args:
        if args[0] == "-n" and len(args) > 1:
            n = int(args[1])
        elif args[0] == "-p" and len(args) > 1:
            procs = int(args[1])
        else:
            raise SystemExit("usage: py_manager.py [-n N] [-p PROCS]")
        args = args[2:]
    with mp.Manager() as m:
        d, ns = m.dict(), m.Namespace()
        if procs == 1:
            worst = loops(d, ns, 0, n)
        else:
            barrier, times = m.Barrier(procs), m.dict()
            ps = [mp.Process(target=worker, args=(d, ns, i, n, barrier, times))
                  for i in range(procs)]
            for p in ps:
                p.start()
            for p in ps:
                p.join()
            if any(p.exitcode != 0 for p in ps):
                raise SystemExit("a worker failed")
            worst = [max(times[i][k] for i in range(procs)) for k in range(3)]
        ops = n * procs
        print("manager impl=python procs=%d dict_writes_per_s=%.0f dict_reads_per_s=%.0f "
              "ns_sets_per_s=%.0f" % (procs, ops / worst[0], ops / worst[1], ops / worst[2]))


if __name__ == "__main__":
    main()
