/* SPDX-License-Identifier: MIT */
/* Worlds under mpirun (mpi_world.h): MPI's ranks, shared memory among those of one node, MPI
 * between the others. */
#include "config.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "launch/jobctl.h"
#include "mpi/mpi_world.h"
#include "mpi/mpi_transport.h"
#include "os/os.h"
#include "settings.h"
#include "world.h"

int tubo__mpi_detect(void)
{
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin)
    return 1;
  /* What Open MPI's launcher (and PMIx or PMI based ones) give each rank. */
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (getenv(vars[i]) != NULL)
      return 1;
  return 0;
}

int tubo__mpi_program_size(void)
{
  int init = 0, fin = 0, size = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (!init || fin || MPI_Comm_size(MPI_COMM_WORLD, &size) != MPI_SUCCESS)
    return 0;
  return size;
}

/* What the node's first rank tells the others about the node's shared memory. */
struct mpi_node_news {
  int32_t rc;
  int32_t pid;
  int32_t fd;
  uint8_t jobid[16];
};

/* The launch description of this rank among the node's ranks: the node's first rank
 * creates the memory, the others open it through its process. Collective over node. */
static int mpi_node_launch(MPI_Comm node, tubo__launch_t *l)
{
  struct mpi_node_news news;
  memset(&news, 0, sizeof news);
  int nrank, nsize;
  MPI_Comm_rank(node, &nrank);
  MPI_Comm_size(node, &nsize);
  struct tubo__jobctl *ctl = NULL;
  int fd = -1;
  if (nrank == 0) {
    news.rc = tubo__os_random(news.jobid, sizeof news.jobid);
    /* No launcher watches the node's ranks: they watch each other (spawned, below). */
    if (news.rc == 0 && (fd = tubo__jobctl_create((uint32_t)nsize, news.jobid, 0, &ctl)) < 0)
      news.rc = fd;
    if (ctl != NULL)
      munmap(ctl, ctl->ctl_bytes);
    news.pid = (int32_t)getpid();
    news.fd = fd;
  }
  if (MPI_Bcast(&news, sizeof news, MPI_BYTE, 0, node) != MPI_SUCCESS)
    news.rc = TUBO_ELAUNCH;
  if (news.rc == 0 && nrank != 0 && (fd = tubo__os_shm_from((pid_t)news.pid, news.fd)) < 0)
    news.rc = fd;
  /* Everyone holds the memory (or someone failed) before the first rank may drop it. */
  int rc = news.rc, worst = 0;
  if (MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MIN, node) != MPI_SUCCESS)
    worst = TUBO_ELAUNCH;
  if (worst != 0) {
    if (fd >= 0)
      close(fd);
    return worst;
  }
  memset(l, 0, sizeof *l);
  l->launched = 1;
  l->rank = l->local_rank = nrank;
  l->size = l->local_size = nsize;
  l->launcher_pid = getppid(); /* Open MPI's daemon: every rank of the node descends from it */
  memcpy(l->jobid, news.jobid, sizeof l->jobid);
  l->transport = TUBO__TP_SHM;
  l->shm_fd = fd;
  l->owns_fds = 1; /* made or opened here */
  l->pipe_rfd = -1;
  l->spawned = 1;
  return 0;
}

/* The ranks that share memory with this one: those of its node, or of its pretend node
 * (TUBO_NODE_SIZE consecutive ranks, within a node). */
static int mpi_split_nodes(MPI_Comm comm, MPI_Comm *real, MPI_Comm *node)
{
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, real) != MPI_SUCCESS)
    return TUBO_ELAUNCH;
  int k = (int)tubo__setting_u64("TUBO_NODE_SIZE", 0, 0, TUBO__MAX_RANKS);
  if (k == 0)
    return MPI_Comm_dup(*real, node) == MPI_SUCCESS ? 0 : TUBO_ELAUNCH;
  return MPI_Comm_split(*real, rank / k, rank, node) == MPI_SUCCESS ? 0 : TUBO_ELAUNCH;
}

/* Adds shared memory among the node's ranks to w. */
static int mpi_add_node(tubo__world_t *w, MPI_Comm node)
{
  int nsize;
  MPI_Comm_size(node, &nsize);
  if (nsize == 1)
    return 0;
  int *world_of = malloc((size_t)nsize * sizeof *world_of);
  if (world_of == NULL)
    return TUBO_ENOMEM;
  if (MPI_Allgather(&w->rank, 1, MPI_INT, world_of, 1, MPI_INT, node) != MPI_SUCCESS) {
    free(world_of);
    return TUBO_ELAUNCH;
  }
  int rc = mpi_node_launch(node, &w->launch);
  if (rc != 0) {
    free(world_of);
    return rc;
  }
  w->launch.world_of = world_of;
  return tubo__world_add_tport(w, TUBO__TP_SHM, &w->launch, NULL);
}

/* The world's node map: every rank's node is the lowest world rank of it (world.h). On
 * comm, whose ranks are the world's, before the transport takes it. */
static int mpi_node_map(tubo__world_t *w, MPI_Comm node, MPI_Comm comm)
{
  int32_t first = w->rank;
  if (MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT32_T, MPI_MIN, node) != MPI_SUCCESS ||
      MPI_Allgather(&first, 1, MPI_INT32_T, w->node_id, 1, MPI_INT32_T, comm) != MPI_SUCCESS)
    return TUBO_ELAUNCH;
  return 0;
}

int tubo__mpi_world_create(tubo__world_t **out)
{
  int init = 0, fin = 0, owns = 0;
  MPI_Finalized(&fin);
  if (fin)
    return TUBO_EINIT; /* MPI cannot start again */
  MPI_Initialized(&init);
  if (!init) {
    int provided;
    if (tubo__mpi_init_watched(&provided) != MPI_SUCCESS)
      return TUBO_ELAUNCH;
    owns = 1;
  }
  MPI_Comm comm = MPI_COMM_NULL, real = MPI_COMM_NULL, node = MPI_COMM_NULL;
  tubo__world_t *w = NULL;
  int rank, size, real_size, rc = TUBO_ELAUNCH;
  if (MPI_Comm_dup(MPI_COMM_WORLD, &comm) != MPI_SUCCESS)
    goto fail;
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if ((rc = mpi_split_nodes(comm, &real, &node)) != 0)
    goto fail;
  MPI_Comm_size(real, &real_size);
  if ((rc = tubo__world_new(rank, size, real_size, NULL, &w)) != 0 ||
      (rc = mpi_node_map(w, node, comm)) != 0)
    goto fail;
  /* MPI between every pair of ranks: its ranks are the world's. */
  tubo__launch_t ml;
  memset(&ml, 0, sizeof ml);
  ml.rank = rank;
  ml.size = size;
  ml.transport = TUBO__TP_MPI;
  ml.shm_fd = ml.pipe_rfd = -1;
  tubo__mpi_open_arg_t arg = {comm, real, node, owns};
  if ((rc = tubo__world_add_tport(w, TUBO__TP_MPI, &ml, &arg)) != 0)
    goto fail;
  comm = MPI_COMM_NULL; /* the transport's now, finalizing MPI with it if tubo started it */
  owns = 0;
  if ((rc = mpi_add_node(w, node)) != 0)
    goto fail;
  MPI_Comm_free(&node);
  MPI_Comm_free(&real);
  if ((rc = tubo__world_ready(w)) != 0)
    goto fail;
  *out = w;
  return 0;
fail:
  if (node != MPI_COMM_NULL)
    MPI_Comm_free(&node);
  if (real != MPI_COMM_NULL)
    MPI_Comm_free(&real);
  if (comm != MPI_COMM_NULL)
    MPI_Comm_free(&comm);
  tubo__world_free(w); /* closes the MPI transport, which finalizes MPI if tubo started it */
  if (owns)
    MPI_Finalize();
  return rc;
}
