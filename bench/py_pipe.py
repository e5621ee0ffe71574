# SPDX-License-Identifier: MIT
"""multiprocessing.Pipe between two processes, measured as bench/pipe_bench measures a tubo
pipe.

  latency:    the parent sends a message, the child sends it back; the figure is half the
              mean round trip, warm-up round trips excluded. style=object sends an int
              with send()/recv() (pickled, as the seeds do); style=bytes sends 8 bytes
              with send_bytes()/recv_bytes(), Python's fastest path.
  throughput: the child sends COUNT messages of SIZE bytes with send_bytes(), then closes
              its end; the parent receives until EOFError. The figure is messages (and
              bytes) per second, from the first message to the end of file.

One line of key=value pairs per figure, as pipe_bench prints:
  pipe impl=python test=latency size=8 style=object iters=20000 half_rtt_ns=20123.4
  pipe impl=python test=throughput size=8 msgs=200000 msgs_per_s=4.1e+05 GBps=0.0033
Usage: python3 py_pipe.py [-b] [-i ITERS] [-n COUNT] [-s SIZE,...]
  -b  bind the parent to the first CPU it may use and the child to the second
"""
import getopt
import multiprocessing
import os
import sys
import time

CPUS = sorted(os.sched_getaffinity(0))


def bind_to(which, bind):
    if bind and which < len(CPUS):
        os.sched_setaffinity(0, {CPUS[which]})


def echo(conn, other, style, bind):
    bind_to(1, bind)
    other.close()
    try:
        if style == "object":
            while True:
                conn.send(conn.recv())
        else:
            while True:
                conn.send_bytes(conn.recv_bytes())
    except EOFError:
        conn.close()


def stream(conn, other, count, size, bind):
    bind_to(1, bind)
    other.close()
    msg = bytes(size)
    for _ in range(count):
        conn.send_bytes(msg)
    conn.close()


def start(target, args):
    mine, theirs = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=target, args=(theirs, mine) + args)
    proc.start()
    theirs.close()
    return mine, proc


def latency(iters, style, bind):
    conn, proc = start(echo, (style, bind))
    warm = iters // 10 + 100
    msg = b"12345678"
    t0 = 0.0
    for i in range(-warm, iters):
        if i == 0:
            t0 = time.perf_counter()
        if style == "object":
            conn.send(i)
            conn.recv()
        else:
            conn.send_bytes(msg)
            conn.recv_bytes()
    dt = time.perf_counter() - t0
    conn.close()
    proc.join()
    print(f"pipe impl=python test=latency size=8 style={style} iters={iters} "
          f"half_rtt_ns={dt / iters / 2 * 1e9:.1f}", flush=True)


def throughput(count, size, bind):
    conn, proc = start(stream, (count, size, bind))
    got = 0
    t0 = 0.0
    try:
        while True:
            conn.recv_bytes()
            if got == 0:
                t0 = time.perf_counter()
            got += 1
    except EOFError:
        pass
    dt = time.perf_counter() - t0
    conn.close()
    proc.join()
    if got != count:
        sys.exit(f"py_pipe: expected {count} messages, got {got}")
    rate = (count - 1) / dt
    print(f"pipe impl=python test=throughput size={size} msgs={count} "
          f"msgs_per_s={rate:.4g} GBps={rate * size * 1e-9:.4g}", flush=True)


def main():
    try:
        opts, rest = getopt.getopt(sys.argv[1:], "bi:n:s:")
        o = dict(opts)
        bind = "-b" in o
        iters = int(o.get("-i", 20000))
        count = int(o.get("-n", 200000))
        sizes = [int(s) for s in o.get("-s", "8,1048576").split(",")]
    except (getopt.GetoptError, ValueError):
        rest = ["bad"]
    if rest or iters < 1 or count < 2:
        print("usage: py_pipe.py [-b] [-i ITERS] [-n COUNT] [-s SIZE,...]", file=sys.stderr)
        return 2
    multiprocessing.set_start_method("fork")
    bind_to(0, bind)
    latency(iters, "object", bind)
    latency(iters, "bytes", bind)
    for size in sizes:
        # Large messages: fewer of them, about 1 GiB in all at most.
        n = min(count, (1 << 30) // size + 2) if size > 0 else count
        throughput(n, size, bind)
    return 0


if __name__ == "__main__":
    sys.exit(main())
