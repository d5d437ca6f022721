# plots/convergence.gp — weak vs uniform convergence as N grows (S4D-LegS vs PTD).
#   gnuplot -e "dir='out/figures'" plots/convergence.gp   → dir/convergence.png   (data: dir/convergence.tsv)
if (!exists("dir")) dir = "."
f = dir."/convergence.tsv"
set terminal pngcairo size 1500,560 enhanced font "DejaVu Sans,12"
set output dir."/convergence.png"
set multiplot layout 1,3 title "How the diagonal inits approach HiPPO-LegS (= the DPLR system) as N grows   (B = LegS B, C = ones; S4D-LegS with the S4D theory's B/2)" font ",14"
set logscale xy 2
set logscale y 10
set format y "10^{%T}"
set xlabel "state size N"
stats f using 1 nooutput
set xrange [STATS_min / 1.33:STATS_max * 1.33]
set grid
set key bottom left box opaque font ",10"

set title "(a) S4D-LegS, smooth inputs: converges (weakly)"
set ylabel "‖y_{DPLR} − y_{S4D}‖_2 / ‖y_{DPLR}‖_2"
plot f using 1:2 with linespoints lw 2 pt 7 title "Gaussian pulse, σ = 0.5", \
     f using 1:3 with linespoints lw 2 pt 5 title "σ = 1", \
     f using 1:4 with linespoints lw 2 pt 9 title "σ = 2", \
     0.6/x with lines dt 2 lc rgb "gray" title "0.6 / N"

set title "(b) S4D-LegS, worst frequency: does not converge"
set ylabel "sup_ω |G_{DPLR} − G_{S4D}| / (‖B‖‖C‖)"
set yrange [1e-2:10]
plot f using 1:5 with linespoints lw 2 pt 7 title "refined sup (at ω ≈ N^2/π)"

stats f using ($8 / $12) nooutput
rlo = STATS_min
rhi = STATS_max
stats f using 13 nooutput
eps = STATS_min
set title sprintf("(c) PTD, ‖E‖_2 = %g ‖A‖_2: error %.1f–%.1f %% of the signal", eps, 100 * rlo, 100 * rhi)
set ylabel "sup_ω |·| / (‖B‖‖C‖)"
set yrange [1e-5:1e5]
set key top left
plot f using 1:12 with linespoints lw 2 pt 9 lc rgb "black" title "signal: sup |G_{DPLR}|", \
     f using 1:8 with linespoints lw 2 pt 7 title "error: sup |G_{PTD} − G_{DPLR}| (refined)", \
     f using 1:9 with linespoints lw 2 pt 5 dt 2 title "paper's bound (2 ln N + 4) ‖E‖_2"
unset multiplot
