# SPDX-License-Identifier: MIT
"""Python's multiprocessing.Queue, measured as bench/queue_bench.c measures tubo's.

P producer processes put the ints 1..N between them into one Queue, P consumer processes
get them until they get None; the parent puts one None per consumer once the producers
ended, and each consumer reports its count and sum through a second Queue. The clock
starts when every process has started (they wait on an Event the parent sets) and stops
when the parent has every report. Prints

  queue impl=python producers=P consumers=P items=N capacity=0 seconds=S items_per_s=R check=ok

(capacity=0: the Queue is unbounded, as Python's default; check=bad and exit status 1 when
the count or the sum is wrong).
"""
import argparse
import multiprocessing as mp
import sys
import time


def producer(q, ready, go, first, step, n):
    ready.release()
    go.wait()
    for v in range(first, n + 1, step):
        q.put(v)


def consumer(q, results, ready, go):
    ready.release()
    go.wait()
    count = total = 0
    while True:
        v = q.get()
        if v is None:
            break
        count += 1
        total += v
    results.put((count, total))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-p", "--pairs", type=int, default=1, help="producers, and as many consumers")
    ap.add_argument("-n", "--items", type=int, default=100000, help="items in all")
    args = ap.parse_args()
    if args.pairs < 1 or args.items < 1:
        ap.error("-p and -n must be at least 1")
    p, n = args.pairs, args.items
    q, results = mp.Queue(), mp.Queue()
    ready, go = mp.Semaphore(0), mp.Event()
    prods = [mp.Process(target=producer, args=(q, ready, go, i + 1, p, n)) for i in range(p)]
    cons = [mp.Process(target=consumer, args=(q, results, ready, go)) for _ in range(p)]
    for proc in prods + cons:
        proc.start()
    for _ in range(2 * p):
        ready.acquire()
    t0 = time.perf_counter()
    go.set()
    for proc in prods:
        proc.join()
    for _ in range(p):
        q.put(None)
    count = total = 0
    for _ in range(p):
        c, s = results.get()
        count += c
        total += s
    secs = time.perf_counter() - t0
    for proc in cons:
        proc.join()
    ok = count == n and total == n * (n + 1) // 2
    ok = ok and all(proc.exitcode == 0 for proc in prods + cons)
    print(f"queue impl=python producers={p} consumers={p} items={n} capacity=0 "
          f"seconds={secs:.4f} items_per_s={n / secs:.0f} check={'ok' if ok else 'bad'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
