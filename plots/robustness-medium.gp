# plots/robustness-medium.gp — `experiment robustness --medium`: mean test accuracy over the seeds with
# 95% t confidence intervals (error bars), 8 rows (5 inits frozen, 3 trained).
#   gnuplot -e "dir='out'" plots/robustness-medium.gp → dir/robustness-medium.png (accuracy vs ω at amplitude
#   0.1, one panel per model, the clean point at the left) and dir/robustness-medium-bars.png (clean vs the
#   four noisy points); -e "pre='robustness-medium-quick'" for a --quick run's files
if (!exists("dir")) dir = "."
if (!exists("pre")) pre = "robustness-medium"   # the files' prefix (--quick: robustness-medium-quick)
f = dir."/".pre.".tsv"                   # one row per model: 2 key 4 n_seeds 5 omega_star 6 omega_own; 7/8 clean
                                         # mean/ci, 11/12 star_01, 15/16 star_03, 19/20 own_01, 23/24 own_03
fs = dir."/".pre."-sweep.tsv"            # index r = row r: 2 omega (0: clean) 3 amp 4 acc_mean 5 acc_ci
stats f using 4 nooutput
ns = int(STATS_min)
stats f using 5 nooutput
ws = STATS_min
names = "S4D-LegS/frozen S4D-Lin/frozen S4-PTD/frozen S5-PTD/frozen S4-DPLR/frozen S4D-LegS/trained S4-PTD/trained S4-DPLR/trained"
label(k) = word(names, k + 1)
# y ranges: the error bars, clipped to [0, 1] (ranges are set after these stats: stats obeys them)
stats fs using ($4 - $5) nooutput
ylo = STATS_min < 0 ? 0 : STATS_min
stats fs using ($4 + $5) nooutput
yhi = STATS_max > 1 ? 1 : STATS_max
stats f using ($7 - $8) nooutput
blo = STATS_min
stats f using ($7 + $8) nooutput
bhi = STATS_max
do for [c in "11 15 19 23"] {
    stats f using (column(int(c)) - column(int(c) + 1)) nooutput; blo = STATS_min < blo ? STATS_min : blo
    stats f using (column(int(c)) + column(int(c) + 1)) nooutput; bhi = STATS_max > bhi ? STATS_max : bhi
}
# one panel per model (no horizontal nudging: every point is drawn at its own ω), shared axes
set terminal pngcairo size 1600,900 enhanced font "DejaVu Sans,11"
set output dir."/".pre.".png"
set multiplot layout 2,4 title sprintf("Fourier-mode noise (amplitude 0.1) on the SSM input of every layer, sequential Fashion-MNIST; mean over %d seeds, error bars: 95%% t interval;\nthe point at the left: clean (same images); dashed: ω* = %.0f (top |Im λ| of S4D-LegS)", ns, ws)
set logscale x
set grid
set xrange [2:20000]
set yrange [ylo - 0.02 * (yhi - ylo):yhi + 0.02 * (yhi - ylo)]
set xtics ("clean" 3, "10" 10, "100" 100, "10^3" 1000, "10^4" 10000)
set xlabel "noise frequency ω"
set ylabel "test accuracy (sweep subset)"
unset key
set arrow 1 from ws, graph 0 to ws, graph 1 nohead dt 2 lc rgb "gray"
colors = "#1f77b4 #2ca02c #d62728 #9467bd #8c564b #ff7f0e #17becf #000000"
do for [k=0:7] {
    set title label(k)
    plot fs index k using ($2 > 0 ? $2 : 1/0):4:5 with yerrorlines lw 2 lc rgb word(colors, k + 1) pt 7 ps 0.8, \
         fs index k using ($2 == 0 ? 3 : 1/0):4:5 with yerrorbars lw 2 lc rgb word(colors, k + 1) pt 5 ps 1.2
}
unset multiplot
unset arrow 1
unset title

set output dir."/".pre."-bars.png"
set terminal pngcairo size 1400,650 enhanced font "DejaVu Sans,12"
set title sprintf("Clean and noisy test accuracy (all test images), mean over %d seeds, error bars: 95%% t interval\nω*: top mode of S4D-LegS; own: the init's top mode |Im λ|", ns)
unset logscale x
unset xtics
set xtics rotate by -25 nomirror
set xrange [-0.6:7.6]
set xlabel ""
set ylabel "test accuracy"
# the error bars' whole extent with a margin (the top points sit at the clean accuracy: no clipping there)
set yrange [(blo < 0.01 ? 0 : blo - 0.01):(bhi > 0.99 ? 1 : bhi + 0.01)]
set key outside right
plot f using ($1 - 0.24):7:8:xtic(label(int($1))) with yerrorbars pt 7 ps 1.4 lw 2 lc rgb "#000000" title "clean", \
     f using ($1 - 0.12):11:12 with yerrorbars pt 5 ps 1.2 lw 2 lc rgb "#1f77b4" title "ω*, 0.1", \
     f using ($1 + 0.00):15:16 with yerrorbars pt 4 ps 1.2 lw 2 lc rgb "#1f77b4" title "ω*, 0.3", \
     f using ($1 + 0.12):19:20 with yerrorbars pt 9 ps 1.2 lw 2 lc rgb "#d62728" title "own, 0.1", \
     f using ($1 + 0.24):23:24 with yerrorbars pt 8 ps 1.2 lw 2 lc rgb "#d62728" title "own, 0.3"
