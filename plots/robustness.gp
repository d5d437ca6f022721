# plots/robustness.gp — Fourier-mode noise robustness (doc/reference.md §6) of sfmnist models per init.
#   gnuplot -e "dir='out'" plots/robustness.gp  → dir/robustness.png (accuracy vs ω and vs amplitude)
#                                                  dir/robustness-curves.png (training curves)
if (!exists("dir")) dir = "."
f = dir."/robustness.tsv"          # one row per init: 2 clean_acc 4 omega_star 11 n_test 12 seed
fn = dir."/robustness-noise.tsv"   # index 0-3 the omega sweeps, 4-7 the amplitude sweeps: 3 omega 4 amp 5 acc
c = dir."/robustness-curves.tsv"   # index k = init k: 2 epoch 4 train_loss 7 val_acc
set terminal pngcairo size 1400,560 enhanced font "DejaVu Sans,12"
set output dir."/robustness.png"
stats f using 4 nooutput
ws = STATS_min
stats f using 11 nooutput
nt = STATS_min
stats f using 12 nooutput
sd = int(STATS_min)
array M[5]
do for [i = 1:5] { stats f using (column(12 + i)) nooutput; M[i] = int(STATS_min) }   # d_model n_layers d_state n_train epochs
if (nt <= 0) nt = 1000
# the binomial standard error of an accuracy measured on nt images; curves nudged apart in ω (×1.00…1.09)
# and drawn with their own markers so that none hides another
se(p) = sqrt(p * (1 - p) / nt)
nudge(k) = 1 + 0.03 * k
names = "S4D-LegS S4D-Lin S4-PTD S4-DPLR"
set multiplot layout 1,2 title sprintf("Fourier-mode noise on the SSM input of every layer: sequential Fashion-MNIST, d_{model} %d, %d layer(s), d_{state} %d, %d training images × %d epoch(s);\n%d test images, seed %d; error bars: binomial standard error", M[1], M[2], M[3], M[4], M[5], int(nt), sd) font ",12"
set logscale x
set grid
stats fn using 5 nooutput
ylo = floor(10 * (STATS_min - 0.05)) / 10.0
yhi = ceil(10 * (STATS_max + 0.05)) / 10.0
set yrange [(ylo < 0 ? 0 : ylo):(yhi > 1 ? 1 : yhi)]
set key bottom left
set xrange [8:15000]
set xlabel "noise frequency ω (amplitude 0.1)"
set ylabel "test accuracy"
set arrow 1 from ws, graph 0 to ws, graph 1 nohead dt 2 lc rgb "gray"
set label 1 sprintf("ω* = %.0f", ws) at ws, graph 0.95 right offset -0.5,0
plot for [k=0:3] fn index k using ($3 * nudge(k)):5:(se($5)) with yerrorlines lw 2 pt (5 + 2 * k) ps 1.1 title word(names, k+1)
unset arrow 1
unset label 1
set xlabel "noise amplitude (ω = ω*); left: clean"
set xrange [0.003:1]
set xtics add ("clean" 0.005)
plot for [k=0:3] fn index (4+k) using ($4 * nudge(k)):5:(se($5)) with yerrorlines lw 2 pt (5 + 2 * k) ps 1.1 title word(names, k+1), \
     for [k=0:3] f every ::k+1::k+1 using (0.005 * nudge(k)):2:(se($2)) with yerrorbars pt (5 + 2 * k) ps 1.4 lc k+1 notitle
unset multiplot

set output dir."/robustness-curves.png"
set terminal pngcairo size 1400,560 enhanced font "DejaVu Sans,12"
unset logscale x
unset xtics
set xtics          # drops the "clean" tic of the amplitude panel
set autoscale x
set multiplot layout 1,2 title sprintf("Training under the PTD protocol (Λ, B, Δ frozen; C and the rest trained): d_{model} %d, %d layer(s), d_{state} %d, %d training images × %d epoch(s)", M[1], M[2], M[3], M[4], M[5])
set xlabel "epoch"
set ylabel "training loss"
set autoscale y
set key top right
plot for [k=0:3] c index k using 2:4 with linespoints lw 2 pt 7 title word("S4D-LegS S4D-Lin S4-PTD S4-DPLR", k+1)
set ylabel "validation accuracy"
set yrange [0:1]
set key bottom right
plot for [k=0:3] c index k using 2:7 with linespoints lw 2 pt 7 title word("S4D-LegS S4D-Lin S4-PTD S4-DPLR", k+1)
unset multiplot
