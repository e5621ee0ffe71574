# SPDX-License-Identifier: MIT
"""The Python anchor: the tutorial's producer -> squarer -> consumer pipeline, timed.

Two multiprocessing.Pipe()s chain three processes, exactly as the tutorial does: the
producer sends 0..n-1 one object each and closes its end; the squarer squares what it
receives until EOFError and closes its end; the main process consumes until EOFError.
The clock runs from before the processes start until the consumer sees the end, and
the consumer prints the line the C pipeline prints:
  py_pipeline items=N seconds=S items_per_s=R checksum=C expected=E check=ok
Usage: python3 py_pipeline.py [-n COUNT]
"""
import multiprocessing
import sys
import time


def create_items(pipe, count):
    output_pipe, _ = pipe
    for item in range(count):
        output_pipe.send(item)
    output_pipe.close()


def multiply_items(pipe_1, pipe_2):
    close, input_pipe = pipe_1
    close.close()
    output_pipe, _ = pipe_2
    try:
        while True:
            item = input_pipe.recv()
            output_pipe.send(item * item)
    except EOFError:
        output_pipe.close()


def main():
    args = sys.argv[1:]
    if args and (len(args) != 2 or args[0] != "-n" or not args[1].isdigit()):
        print("Usage: py_pipeline.py [-n COUNT]", file=sys.stderr)
        return 2
    count = int(args[1]) if args else 100000
    start = time.perf_counter()
    pipe_1 = multiprocessing.Pipe(True)
    producer = multiprocessing.Process(target=create_items, args=(pipe_1, count))
    producer.start()
    pipe_2 = multiprocessing.Pipe(True)
    squarer = multiprocessing.Process(target=multiply_items, args=(pipe_1, pipe_2))
    squarer.start()
    pipe_1[0].close()
    pipe_2[0].close()
    total = received = 0
    try:
        while True:
            total += pipe_2[1].recv()
            received += 1
    except EOFError:
        pass
    seconds = time.perf_counter() - start
    producer.join()
    squarer.join()
    expected = (count - 1) * count * (2 * count - 1) // 6
    ok = total == expected and received == count
    print(f"py_pipeline items={received} seconds={seconds:.6f} "
          f"items_per_s={received / seconds:.0f} checksum={total} expected={expected} "
          f"check={'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
