/* SPDX-License-Identifier: MIT */
/* Monte Carlo pi: points thrown at the unit square, counted inside the quarter circle.
 *
 * Point i of the whole throw comes from a counter-based generator keyed by i, so that the
 * points are the same however the throw is shared among ranks: rank r throws points
 * [r N / P, (r + 1) N / P), counts its hits, and tubo_reduce adds the counts up at rank 0,
 * which prints the estimate: the same output for any number of ranks.
 *
 * Usage: tuborun -n 4 examples/pi [-n POINTS] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tubo.h"

/* SplitMix64: a 64-bit hash of a counter, good enough to throw points with. */
static uint64_t splitmix64(uint64_t x)
{
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* A coordinate in [0, 1) from 53 random bits. */
static double unit(uint64_t bits)
{
  return (double)(bits >> 11) * 0x1p-53;
}

int main(int argc, char **argv)
{
  long long points = 4000000;
  if (argc == 3 && strcmp(argv[1], "-n") == 0)
    points = atoll(argv[2]);
  else if (argc != 1 || points <= 0) {
    fprintf(stderr, "usage: pi [-n POINTS]\n");
    return 2;
  }
  int rc = tubo_init(&argc, &argv);
  if (rc != 0) {
    fprintf(stderr, "pi: tubo_init: %s\n", tubo_strerror(rc));
    return 1;
  }
  int rank, size;
  tubo_comm_rank(TUBO_COMM_WORLD, &rank);
  tubo_comm_size(TUBO_COMM_WORLD, &size);
  long long lo = points * rank / size, hi = points * (rank + 1) / size, hits = 0, total = 0;
  for (long long i = lo; i < hi; i++) {
    double x = unit(splitmix64(2 * (uint64_t)i)), y = unit(splitmix64(2 * (uint64_t)i + 1));
    hits += x * x + y * y < 1.0;
  }
  rc = tubo_reduce(&hits, &total, 1, TUBO_LLONG, TUBO_SUM, 0, TUBO_COMM_WORLD);
  if (rc != 0) {
    fprintf(stderr, "pi: tubo_reduce: %s\n", tubo_strerror(rc));
    return 1;
  }
  if (rank == 0)
    printf("pi: %lld points, %lld inside the quarter circle, pi is about %.6f\n", points, total,
           4.0 * (double)total / (double)points);
  return tubo_finalize() == 0 ? 0 : 1;
}
