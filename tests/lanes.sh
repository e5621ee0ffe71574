# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# run_lanes DIR N COMMAND ITEM...: runs "COMMAND ITEM" for every ITEM, N at a time (N
# below 1 reads as 1), for tests/run_hosts.sh, whose jobs spend much of their time
# waiting. (make check's mpirun groups gain nothing so: make -j2 keeps both processors
# busy with five of them side by side, 181 s with one lane each, 184 s with two.) Each
# lane takes the next item no lane has taken yet (mkdir claims it), so that the first
# named start first, and runs it with LANE_DIR naming a folder of the lane's own under
# DIR (Open MPI's files go there: two jobs started at once race to make the same session
# directory in one). Each item's output is printed whole, in the order named, once all
# have ended; an item that no lane ran is said to have failed. Returns 1 if a command
# failed, else 0.
run_lanes() {
  lanes_dir=$1 lanes_n=$2 lanes_cmd=$3
  shift 3
  [ "$lanes_n" -ge 1 ] 2>/dev/null || lanes_n=1
  lanes_k=0
  while [ "$lanes_k" -lt "$lanes_n" ]; do
    (
      LANE_DIR="$lanes_dir/lane.$lanes_k"
      mkdir -p "$LANE_DIR"
      i=0
      for item in "$@"; do
        i=$((i + 1))
        mkdir "$lanes_dir/claim.$i" 2>/dev/null || continue
        "$lanes_cmd" "$item" >"$lanes_dir/out.$i" 2>&1 || : >"$lanes_dir/failed.$i"
      done
    ) &
    lanes_k=$((lanes_k + 1))
  done
  wait
  lanes_rc=0 i=0
  for item in "$@"; do
    i=$((i + 1))
    if [ ! -e "$lanes_dir/out.$i" ]; then
      echo "FAIL: $item: no lane ran it"
      lanes_rc=1
    fi
    cat "$lanes_dir/out.$i" 2>/dev/null
    [ -e "$lanes_dir/failed.$i" ] && lanes_rc=1
  done
  return $lanes_rc
}
