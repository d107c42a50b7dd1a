#!/bin/sh
# Plots otp-swim-sim-bench's CSV as docs/swim-scale.png: protocol periods to converge after a
# join and after a crash (log-scale x: a straight line is log N growth), and bytes each node
# sends per second (flat: load per node does not grow with the cluster).
#
#   build/release/bench/otp-swim-sim-bench --csv /tmp/swim.csv
#   bench/swim_plot.sh /tmp/swim.csv            # -> docs/swim-scale.png
#
# Needs gnuplot (Debian: gnuplot-nox); this script installs nothing.
set -eu
csv=${1:?usage: swim_plot.sh results.csv [out.png]}
out=${2:-$(dirname "$0")/../docs/swim-scale.png}
command -v gnuplot >/dev/null 2>&1 || {
  echo "swim_plot.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2
  exit 1
}
gnuplot <<GP
set terminal pngcairo size 1100,450 font ",11" noenhanced
set output "$out"
set datafile separator ","
set key top left
set logscale x 10
set grid
set xlabel "nodes"
set multiplot layout 1,2 title "SWIM + Lifeguard on the simulator (probe interval 200 ms)"
set ylabel "protocol periods"
set title "convergence"
plot "$csv" skip 1 using 1:3 with linespoints lw 2 pt 7 title "crash -> all survivors: failed", \
     "$csv" skip 1 using 1:2 with linespoints lw 2 pt 5 title "join -> all members: joined"
set ylabel "bytes / s"
set title "load per node (steady state)"
set yrange [0:*]
set key bottom right
plot "$csv" skip 1 using 1:4 with linespoints lw 2 pt 7 title "bytes sent per node per second"
unset multiplot
GP
echo "wrote $out"
