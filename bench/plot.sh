#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench-plot: draws the benchmark's figures as PNG images with gnuplot: the half round
# trip and the streaming bandwidth of two ranks against the message size, tubo beside Open
# MPI, and each collective's time against the size where the collective benchmark exists.
# It reads what the benchmark prints: bench/run.sh's sweep table, and the programs' own
# key=value lines ("osu impl=tubo test=latency size=8 ... half_rtt_ns=...", "osu ... test=bw
# ... GBps=...", "osu_coll impl=mpi test=allreduce ranks=4 size=8 ... avg_us=..."); lines of
# both kinds may be mixed, from several files. These are figures of one run on one machine:
# the title names the machine and the date, and a shared machine's figures are noise.
#
# Usage: bench/plot.sh [-o DIR] [-m BUILDDIR] [-d] [LOG...]
#   -o DIR       where the images go (default: doc/img): bench-latency.png,
#                bench-bandwidth.png and, with collective figures, bench-collectives.png
#   -m BUILDDIR  measure first, with the programs of that build: osu_tubo and osu_mpi on 2
#                ranks, osu_coll_tubo and osu_coll_mpi on 2 and 4 where they are built; the
#                lines go to DIR/bench.out, which is then plotted with the LOGs given
#   -d           print the tables the images are drawn from, and draw nothing
# Environment: MPIRUN (default mpirun), GNUPLOT (default gnuplot).
usage() {
  sed -n 's/^# \{0,1\}//; 12,19p' "$0"
}

outdir=doc/img
measure=
dump=0
while getopts o:m:dh opt; do
  case $opt in
  o) outdir=$OPTARG ;;
  m) measure=$OPTARG ;;
  d) dump=1 ;;
  h)
    usage
    exit 0
    ;;
  *)
    usage >&2
    exit 2
    ;;
  esac
done
shift $((OPTIND - 1))
GNUPLOT=${GNUPLOT:-gnuplot}
MPIRUN=${MPIRUN:-mpirun}
if [ $dump = 0 ] && ! command -v "$GNUPLOT" >/dev/null 2>&1; then
  echo "plot.sh: no $GNUPLOT (Debian: apt-get install gnuplot-nox)" >&2
  exit 1
fi
mkdir -p "$outdir" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tubo-plot.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

if [ -n "$measure" ]; then
  build=$(cd "$measure" && pwd) || exit 2
  log=$outdir/bench.out
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  cpu=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo 2>/dev/null | head -n 1)
  {
    echo "# tubo benchmark sweep, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n), $(getconf _NPROCESSORS_ONLN) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# cpu: ${cpu:-unknown}"
  } >"$log"
  echo "plot.sh: measuring (one run of each program, some minutes); lines in $log" >&2
  "$build/tools/tuborun" -n 2 --bind-to core "$build/bench/osu_tubo" >>"$log" ||
    echo "plot.sh: osu_tubo failed" >&2
  if [ -x "$build/bench/osu_mpi" ] && command -v "$MPIRUN" >/dev/null 2>&1; then
    "$MPIRUN" -n 2 "$build/bench/osu_mpi" >>"$log" || echo "plot.sh: osu_mpi failed" >&2
  fi
  for n in 2 4; do
    if [ -x "$build/bench/osu_coll_tubo" ]; then
      "$build/tools/tuborun" -n $n "$build/bench/osu_coll_tubo" >>"$log" ||
        echo "plot.sh: osu_coll_tubo on $n ranks failed" >&2
    fi
    if [ -x "$build/bench/osu_coll_mpi" ] && command -v "$MPIRUN" >/dev/null 2>&1; then
      "$MPIRUN" -n $n --oversubscribe "$build/bench/osu_coll_mpi" >>"$log" ||
        echo "plot.sh: osu_coll_mpi on $n ranks failed" >&2
    fi
  done
  set -- "$log" "$@"
fi
[ $# -ge 1 ] || {
  usage >&2
  exit 2
}
for f in "$@"; do
  [ -r "$f" ] || {
    echo "plot.sh: cannot read $f" >&2
    exit 2
  }
done

# The tables: lat.dat and bw.dat hold "size tubo mpi" ("?" where missing), coll.dat
# "test ranks size tubo mpi"; title.txt the machine and date when a log says them.
cat "$@" | awk -v dir="$tmp" '
function put(kind, size, impl, v) {
  if (v == "" || v == "n/a") return
  val[kind, size, impl] = v
  if (!((kind, size) in seen)) { seen[kind, size] = 1; sizes[kind] = sizes[kind] " " size }
}
function kv(line,    i, n, p, a) {
  for (k in f) delete f[k]
  n = split(line, p, " ")
  for (i = 2; i <= n; i++) if (split(p[i], a, "=") == 2) f[a[1]] = a[2]
}
function sorted(list, out,    n, i, j, t) {
  n = split(list, out, " ")
  for (i = 2; i <= n; i++)
    for (j = i; j > 1 && out[j - 1] + 0 > out[j] + 0; j--) { t = out[j]; out[j] = out[j - 1]; out[j - 1] = t }
  return n
}
function get(kind, size, impl) { return ((kind, size, impl) in val) ? val[kind, size, impl] : "?" }
/^osu / {
  kv($0)
  if (f["test"] == "latency") put("lat", f["size"], f["impl"], f["half_rtt_ns"] / 1000)
  if (f["test"] == "bw") put("bw", f["size"], f["impl"], f["GBps"])
  next
}
/^osu_coll / {
  kv($0)
  key = f["test"] SUBSEP f["ranks"]
  if (!(key in ctests)) { ctests[key] = 1; corder[++nc] = key }
  put("coll" SUBSEP key, f["size"], f["impl"], f["avg_us"])
  next
}
# bench/run.sh: its heading line names the machine; its sweep table follows its header.
/^tubo benchmark, / || /^# tubo benchmark sweep, / {
  t = $0; sub(/^# /, "", t); sub(/ [0-9.]+ [0-9.]+$/, "", t); title = t
}
/^# cpu: / { cpu = substr($0, 8) }
/^ *size \(B\) +tubo half-rtt ns/ { table = 1; next }
table && $1 ~ /^[0-9]+$/ && NF == 5 {
  put("lat", $1, "tubo", $2 == "n/a" ? "" : $2 / 1000); put("lat", $1, "mpi", $3 == "n/a" ? "" : $3 / 1000)
  put("bw", $1, "tubo", $4); put("bw", $1, "mpi", $5)
  next
}
{ table = 0 }
END {
  for (kind = 1; kind <= 2; kind++) {
    k = kind == 1 ? "lat" : "bw"
    file = dir "/" k ".dat"
    n = sorted(sizes[k], s)
    for (i = 1; i <= n; i++) printf "%s %s %s\n", s[i], get(k, s[i], "tubo"), get(k, s[i], "mpi") > file
    close(file)
  }
  file = dir "/coll.dat"
  for (c = 1; c <= nc; c++) {
    split(corder[c], tr, SUBSEP)
    n = sorted(sizes["coll" SUBSEP corder[c]], s)
    for (i = 1; i <= n; i++)
      printf "%s %s %s %s %s\n", tr[1], tr[2], s[i], get("coll" SUBSEP corder[c], s[i], "tubo"), get("coll" SUBSEP corder[c], s[i], "mpi") > file
  }
  close(file)
  printf "%s%s\n", title, cpu != "" ? " (" cpu ")" : "" > (dir "/title.txt")
}'
touch "$tmp/lat.dat" "$tmp/bw.dat" "$tmp/coll.dat"

if [ $dump = 1 ]; then
  echo "latency (size, tubo us, Open MPI us):"
  cat "$tmp/lat.dat"
  echo "bandwidth (size, tubo GB/s, Open MPI GB/s):"
  cat "$tmp/bw.dat"
  echo "collectives (test, ranks, size, tubo us, Open MPI us):"
  cat "$tmp/coll.dat"
  exit 0
fi
[ -s "$tmp/lat.dat" ] || [ -s "$tmp/bw.dat" ] || [ -s "$tmp/coll.dat" ] || {
  echo "plot.sh: no benchmark figures in $*" >&2
  exit 1
}

title=$(sed 's/"/\\"/g' "$tmp/title.txt")
terminal="pngcairo size 900,560 font 'DejaVu Sans,10'"
"$GNUPLOT" -e "set terminal pngcairo" >/dev/null 2>&1 || terminal="png size 900,560"
common="set terminal $terminal
set datafile missing '?'
set logscale x 2
set format x '%.0b%BB'
set xlabel 'message size (bytes)'
set grid
set key top left
set style data linespoints"

drawn=
if [ -s "$tmp/lat.dat" ]; then
  "$GNUPLOT" <<EOF || exit 1
$common
set output '$outdir/bench-latency.png'
set title "Half round trip, 2 ranks of one node: tubo and Open MPI\n{/*0.8 $title}"
set logscale y 10
set ylabel 'half round trip (microseconds)'
plot '$tmp/lat.dat' using 1:2 title 'tubo' pt 7 lw 2, '' using 1:3 title 'Open MPI' pt 5 lw 2
EOF
  drawn="$drawn $outdir/bench-latency.png"
fi
if [ -s "$tmp/bw.dat" ]; then
  "$GNUPLOT" <<EOF || exit 1
$common
set output '$outdir/bench-bandwidth.png'
set title "Streaming bandwidth, 2 ranks of one node: tubo and Open MPI\n{/*0.8 $title}"
set ylabel 'bandwidth (GB/s)'
set yrange [0:*]
plot '$tmp/bw.dat' using 1:2 title 'tubo' pt 7 lw 2, '' using 1:3 title 'Open MPI' pt 5 lw 2
EOF
  drawn="$drawn $outdir/bench-bandwidth.png"
fi
# Collectives: one panel per collective, a line per implementation and rank count. Sizes
# of 0 (the barrier) cannot sit on a logarithmic axis: such a collective shows its time
# in its panel's title instead.
if [ -s "$tmp/coll.dat" ]; then
  tests=$(awk '{ print $1 }' "$tmp/coll.dat" | awk '!seen[$0]++')
  ntests=$(echo "$tests" | wc -l)
  cols=$(( ntests < 3 ? ntests : 3 ))
  rows=$(( (ntests + cols - 1) / cols ))
  {
    echo "$common"
    echo "set terminal ${terminal%% size*} size $((cols * 420)),$((rows * 320 + 40)) $(echo "$terminal" | sed -n "s/.*\( font .*\)/\1/p")"
    echo "set output '$outdir/bench-collectives.png'"
    printf '%s\n' "set multiplot layout $rows,$cols title \"Collectives: tubo (solid) and Open MPI (dashed), mean time per call\\n{/*0.8 $title}\""
    echo "set logscale y 10"
    echo "set ylabel 'microseconds'"
    echo "set key top left font ',8'"
    for t in $tests; do
      awk -v t="$t" '$1 == t' "$tmp/coll.dat" >"$tmp/coll_$t.dat"
      ranks=$(awk '{ print $2 }' "$tmp/coll_$t.dat" | sort -n -u)
      if awk '$3 > 0 { found = 1 } END { exit !found }' "$tmp/coll_$t.dat"; then
        echo "set title '$t'"
        plot="plot"
        sep=""
        k=1
        for r in $ranks; do
          awk -v r="$r" '$2 == r && $3 > 0' "$tmp/coll_$t.dat" >"$tmp/coll_${t}_$r.dat"
          plot="$plot$sep '$tmp/coll_${t}_$r.dat' using 3:4 title 'tubo, $r ranks' lc $k dt 1 pt 7, '' using 3:5 title 'Open MPI, $r ranks' lc $k dt 2 pt 5"
          sep=","
          k=$((k + 1))
        done
        echo "$plot"
      else
        label=$(awk '{ printf "%s%s ranks: tubo %s us, Open MPI %s us", (NR > 1 ? "; " : ""), $2, $4, $5 }' "$tmp/coll_$t.dat")
        echo "set title '$t'"
        echo "unset logscale y; unset border; unset tics; unset xlabel; unset ylabel; unset grid"
        echo "set label 1 '$label' at graph 0.5, graph 0.5 center font ',9'"
        echo "plot [1:2] [0:1] NaN notitle"
        echo "unset label 1"
        echo "set logscale y 10; set border; set tics; set grid"
        echo "set xlabel 'message size (bytes)'; set ylabel 'microseconds'"
      fi
    done
    echo "unset multiplot"
  } >"$tmp/coll.gp"
  "$GNUPLOT" "$tmp/coll.gp" || exit 1
  drawn="$drawn $outdir/bench-collectives.png"
fi
echo "plot.sh: drew$drawn"
