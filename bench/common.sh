# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# Shell functions the mpirun benchmark scripts share (run_mpi.sh, coll.sh, jacobi.sh,
# startup.sh, experiments/lat_pairs.sh and experiments/hop_mix.sh), sourced by them:
# POSIX sh.

# bench_count SCRIPT OPTION WHAT VALUE: exits 2, saying why, unless VALUE is a whole
# number of at least 1.
bench_count() {
  case $4 in '' | *[!0-9]* | 0)
    echo "$1: $2 needs a whole number of $3, at least 1" >&2
    exit 2
    ;;
  esac
}

# bench_fresh DIR LIB PROGRAM...: empties DIR, then puts in it a copy of each PROGRAM
# (same name) and, if LIB exists, of it as libtubo.so.0. Where code lies in physical
# memory moves a hop by a few percent, and the host's page cache keeps a file's pages
# where they first landed: a file kept for every run would give all of them one draw.
bench_fresh() {
  bench_dir=$1 bench_lib=$2
  shift 2
  rm -rf "${bench_dir:?}" && mkdir "$bench_dir" || return 1
  for bench_p; do
    cp "$bench_p" "$bench_dir/" || return 1
  done
  [ -f "$bench_lib" ] || return 0
  cp "$bench_lib" "$bench_dir/libtubo.so.0"
}

# bench_mpi_env NAME: lets Open MPI run as root and on more ranks than cores, and gives it
# a scratch folder of its own, $tmp (tubo-NAME.XXXXXX), for its session files and its
# shared-memory backing, removed at exit unless KEEP is set. Exits 1 if no folder can be
# made.
bench_mpi_env() {
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export OMPI_MCA_rmaps_base_oversubscribe=1
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-$1.XXXXXX") || exit 1
  trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT INT TERM
  export OMPI_MCA_orte_tmpdir_base="$tmp" OMPI_MCA_btl_vader_backing_directory="$tmp"
}
