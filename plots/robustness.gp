# plots/robustness.gp — Fourier-mode noise robustness (doc/reference.md §6) of sfmnist models per init.
#   gnuplot -e "dir='out'" plots/robustness.gp  → dir/robustness.png (accuracy vs ω and vs amplitude)
#                                                  dir/robustness-curves.png (training curves)
if (!exists("dir")) dir = "."
f = dir."/robustness.tsv"
c = dir."/robustness-curves.tsv"
set terminal pngcairo size 1400,560 enhanced font "DejaVu Sans,12"
set output dir."/robustness.png"
ws = real(system(sprintf("awk '!/^#/ && NF { print $4; exit }' %s", f)))
nt = real(system(sprintf("awk '/^# n_test/ { print $3; exit }' %s", f)))
sd = int(real(system(sprintf("awk '/^# n_test/ { print $5; exit }' %s", f))))
if (nt <= 0) nt = 1000
# the binomial standard error of an accuracy measured on nt images; curves nudged apart in ω (×1.00…1.09)
# and drawn with their own markers so that none hides another
se(p) = sqrt(p * (1 - p) / nt)
nudge(k) = 1 + 0.03 * k
names = "S4D-LegS S4D-Lin S4-PTD S4-DPLR"
set multiplot layout 1,2 title sprintf("Fourier-mode noise on the SSM input of every layer (sequential Fashion-MNIST, %d test images, seed %d; error bars: binomial standard error)", int(nt), sd) font ",12"
set logscale x
set grid
stats f index 1:8 using 3 nooutput
ylo = floor(10 * (STATS_min - 0.05)) / 10.0
yhi = ceil(10 * (STATS_max + 0.05)) / 10.0
set yrange [(ylo < 0 ? 0 : ylo):(yhi > 1 ? 1 : yhi)]
set key bottom left
set xrange [8:15000]
set xlabel "noise frequency ω (amplitude 0.1)"
set ylabel "test accuracy"
set arrow 1 from ws, graph 0 to ws, graph 1 nohead dt 2 lc rgb "gray"
set label 1 sprintf("ω* = %.0f", ws) at ws, graph 0.95 right offset -0.5,0
plot for [k=0:3] f index (1+k) using ($1 * nudge(k)):3:(se($3)) with yerrorlines lw 2 pt (5 + 2 * k) ps 1.1 title word(names, k+1)
unset arrow 1
unset label 1
set xlabel "noise amplitude (ω = ω*); left: clean"
set xrange [0.003:1]
set xtics add ("clean" 0.005)
plot for [k=0:3] f index (5+k) using ($2 * nudge(k)):3:(se($3)) with yerrorlines lw 2 pt (5 + 2 * k) ps 1.1 title word(names, k+1), \
     for [k=0:3] f index 0 every ::k::k using (0.005 * nudge(k)):2:(se($2)) with yerrorbars pt (5 + 2 * k) ps 1.4 lc k+1 notitle
unset multiplot

set output dir."/robustness-curves.png"
set terminal pngcairo size 1400,560 enhanced font "DejaVu Sans,12"
unset logscale x
set multiplot layout 1,2 title "Training under the PTD protocol (Λ, B, Δ frozen; C and the rest trained)"
set xlabel "epoch"
set ylabel "training loss"
set autoscale y
set key top right
plot for [k=0:3] c index k using 1:3 with linespoints lw 2 pt 7 title word("S4D-LegS S4D-Lin S4-PTD S4-DPLR", k+1)
set ylabel "validation accuracy"
set yrange [0:1]
set key bottom right
plot for [k=0:3] c index k using 1:6 with linespoints lw 2 pt 7 title word("S4D-LegS S4D-Lin S4-PTD S4-DPLR", k+1)
unset multiplot
