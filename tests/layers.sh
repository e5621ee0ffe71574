#!/bin/sh
# SPDX-License-Identifier: MIT
# The library's layers call only downward. From the bottom up:
#   lib/os/, lib/list.h, settings, topo,     what everything may use
#     size_text
#   lib/launch/launch.c, jobctl.c            the launch contract and the job control block,
#                                            which tuborun and every rank share
#   lib/heap/                                the shared heap's allocator
#   the transports: lib/shm/, lib/pipe/,     see the engine through engine.h only
#     lib/mpi/mpi_transport.c, mpi_hook.c
#   the engine (lib/*.c, world.h)            matching, sending, progress, worlds
#   lib/launch/spawn.c, fork.c; mpi_world.c  make worlds and fork children: the engine
#                                            knows them only through a world's watcher
#   lib/patterns/                            Process, Pipe, Queue, Array, Value, ...
#   tools/                                   tuborun and its placement (tools/placement.h)
# This script fails when a file reaches up: the core or a transport including a header of
# lib/patterns/ or tools/ or calling into spawn.c or fork.c, the launch contract or the
# heap including the engine, or a transport including world.h or following a world's fields itself.
set -u
top=${srcdir:-.}/
fail=0

# Prints the files under lib/ (relative to $top) that match pattern, among those given.
offenders()
{
  pattern=$1
  shift
  for f in "$@"; do
    [ -f "$top$f" ] || continue
    if grep -En "$pattern" "$top$f" >/dev/null; then
      grep -En "$pattern" "$top$f" | sed "s|^|$f:|"
    fi
  done
}

check()
{
  what=$1
  found=$2
  if [ -n "$found" ]; then
    echo "layers: FAIL: $what:" >&2
    echo "$found" >&2
    fail=1
  else
    echo "layers: ok: $what"
  fi
}

cd "$top" || exit 1
top=
core=$(ls lib/*.c lib/*.h lib/shm/*.[ch] lib/pipe/*.[ch] lib/mpi/*.[ch] lib/os/*.[ch] lib/launch/*.[ch] lib/heap/*.[ch] 2>/dev/null)
launch=$(ls lib/launch/launch.[ch] lib/launch/jobctl.[ch] lib/heap/*.[ch] 2>/dev/null)
engine=$(ls lib/*.c lib/*.h lib/shm/*.[ch] lib/pipe/*.[ch] lib/mpi/mpi_transport.[ch] lib/mpi/mpi_hook.c lib/os/*.[ch] 2>/dev/null)
transports=$(ls lib/shm/*.[ch] lib/pipe/*.[ch] lib/mpi/mpi_transport.[ch] lib/mpi/mpi_hook.c lib/mpi/mpi_locality.c 2>/dev/null)
[ -n "$core" ] && [ -n "$launch" ] && [ -n "$transports" ] || {
  echo "layers: FAIL: expected lib/, lib/launch/ and the transports' folders under $(pwd)" >&2
  exit 1
}

# shellcheck disable=SC2086
check "the core and the transports include nothing of lib/patterns/" \
  "$(offenders '#include "patterns/' $core)"
# shellcheck disable=SC2086
check "lib/ includes nothing of tools/ (placement is the launcher's)" \
  "$(offenders '#include "(tools/|placement\.h|tuborun)' $core $(ls lib/patterns/*.[ch]))"
# shellcheck disable=SC2086
check "the launch contract, the job control block and the heap include nothing of the engine" \
  "$(offenders '#include "(world|engine|transport)\.h"|#include "patterns/|#include "launch/(fork|spawn)' $launch)"
# shellcheck disable=SC2086
check "the engine and the transports call nothing of tubo_spawn or the forking of children" \
  "$(offenders '#include "launch/fork\.h"|tubo__spawn|tubo__fork_child|tubo__child_exit' $engine)"
# shellcheck disable=SC2086
check "the transports include engine.h, never world.h" \
  "$(offenders '#include "world\.h"' $transports)"
# A transport holds its world to hand it back to engine.h's calls; it never follows it.
# shellcheck disable=SC2086
check "the transports follow no field of a world or a communicator" \
  "$(offenders '(\<w|->w|\<comm)->' $transports)"
# shellcheck disable=SC2086
check "no header of lib/ takes MPI's own header's name" \
  "$(ls lib/mpi.h lib/*/mpi.h 2>/dev/null)"
exit $fail
