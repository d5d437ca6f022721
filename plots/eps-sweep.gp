# plots/eps-sweep.gp — PTD of HiPPO-LegS: what a smaller perturbation budget costs and buys.
#   gnuplot -e "dir='out/figures'" plots/eps-sweep.gp   → dir/eps-sweep.png   (data: dir/eps-sweep.tsv)
if (!exists("dir")) dir = "."
f = dir."/eps-sweep.tsv"
set terminal pngcairo size 1500,600 enhanced font "DejaVu Sans,12"
set output dir."/eps-sweep.png"
stats f using 14 nooutput
N = int(STATS_min)
stats f using 1 nooutput
set multiplot layout 1,3 title sprintf("Perturb-then-diagonalise, HiPPO-LegS N = %d: budget ε = ‖E‖_2/‖A‖_2 swept from %g to %g\n(transfer-aware PTD, default weight; each point is the file init ptd --eps ε writes)", N, STATS_max, STATS_min) font ",14"
set logscale x
set format x "10^{%T}"
set xlabel "budget ε = ‖E‖_2 / ‖A‖_2"
set grid
set key top right box opaque font ",11"

set title "eigenvector conditioning"
set logscale y
set format y "10^{%T}"
set ylabel "κ_2(Ṽ)  (unit-norm columns)"
plot f using 1:4 with linespoints lw 2 pt 7 title "κ_2(Ṽ) of A + E", \
     0.2/x with lines dt 2 lc rgb "gray" title "0.2 / ε"

set title "transfer-function error, relative to HiPPO-LegS"
set ylabel "sup_ω |G_{PTD} − G_{LegS}| / sup_ω |G_{LegS}|"
set yrange [1e-4:1]
set key bottom right
plot f using 1:12 with linespoints lw 2 pt 5 title "C = ones (ones)", \
     f using 1:13 with linespoints lw 2 pt 7 title "median over 200 Gaussian C (randC)", \
     x with lines dt 2 lc rgb "gray" title "ε (slope 1)"

set title "stability margin of A + E"
unset logscale y
set yrange [*:0]
set format y "%g"
set ylabel "max Re λ(A + E)"
set key bottom right
plot f using 1:8 with linespoints lw 2 pt 9 title "max Re λ (< 0: stable)"
unset multiplot
