/* SPDX-License-Identifier: MIT */
/* What a truncated receive does in the MPI tubo is built with: rank 0 sends messages of
 * growing size, rank 1 takes each into a 64-byte receive followed by guard bytes, and
 * prints how many bytes MPI wrote past the receive. MPI says only that such a receive is
 * erroneous (MPI_ERR_TRUNCATE); Open MPI 4.1 writes the whole message past the buffer once
 * the message is above the eager limit of the path (doc/mpi.md). tubo's MPI transport
 * therefore never posts a receive that a message could overrun: its frames are taken into
 * buffers of the largest frame, and a large message's data is received only with its
 * length known (lib/mpi/mpi_transport.c). This program checks that premise on an MPI.
 *
 * Usage: mpirun -n 2 bench/experiments/mpi_truncate
 * Rank 1 prints, for each size:
 *   mpi_truncate size=70000 rc=MPI_ERR_TRUNCATE count=70000 past=69936 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECV_CAP   64
#define GUARD      (8u << 20)
#define GUARD_BYTE 0x55

static const int sizes[] = {65,    1024,  2048,  4000,  4096,    8192,
                            16384, 65000, 65536, 70000, 1 << 20, 1 << 22};
#define NSIZES ((int)(sizeof sizes / sizeof sizes[0]))

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size != 2) {
    if (rank == 0)
      fprintf(stderr, "mpi_truncate: needs 2 ranks\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  /* The truncation is reported, not fatal, so that what follows it can be looked at. */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  unsigned char *buf = malloc(rank == 0 ? (size_t)sizes[NSIZES - 1] : RECV_CAP + GUARD);
  if (buf == NULL)
    MPI_Abort(MPI_COMM_WORLD, 1);
  int bad = 0;
  for (int i = 0; i < NSIZES; i++) {
    if (rank == 0) {
      memset(buf, 7, (size_t)sizes[i]);
      MPI_Send(buf, sizes[i], MPI_BYTE, 1, 5, MPI_COMM_WORLD);
    } else {
      memset(buf, GUARD_BYTE, RECV_CAP + GUARD);
      MPI_Request q;
      MPI_Status st;
      MPI_Irecv(buf, RECV_CAP, MPI_BYTE, 0, 5, MPI_COMM_WORLD, &q);
      int rc = MPI_Wait(&q, &st), count = -1, len = 0;
      char name[MPI_MAX_ERROR_STRING] = "MPI_SUCCESS";
      if (rc == MPI_ERR_TRUNCATE)
        snprintf(name, sizeof name, "MPI_ERR_TRUNCATE");
      else if (rc != MPI_SUCCESS && MPI_Error_string(rc, name, &len) != MPI_SUCCESS)
        snprintf(name, sizeof name, "error %d", rc);
      MPI_Get_count(&st, MPI_BYTE, &count);
      size_t past = 0;
      for (size_t k = RECV_CAP; k < RECV_CAP + GUARD; k++)
        if (buf[k] != GUARD_BYTE)
          past = k - RECV_CAP + 1;
      bad += past > 0;
      printf("mpi_truncate size=%d rc=%s count=%d past=%zu\n", sizes[i], name, count, past);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
  if (rank == 1)
    printf("mpi_truncate: %d of %d truncated receives were written past\n", bad, NSIZES);
  free(buf);
  MPI_Finalize();
  return 0;
}
