# plots/robustness.gp — Fourier-mode noise robustness (REFERENCE.md §6) of sfmnist models per init.
#   gnuplot -e "dir='out'" plots/robustness.gp  → dir/robustness.png (accuracy vs ω and vs amplitude)
#                                                  dir/robustness-curves.png (training curves)
if (!exists("dir")) dir = "."
f = dir."/robustness.tsv"
c = dir."/robustness-curves.tsv"
set terminal pngcairo size 1400,560 enhanced font "DejaVu Sans,12"
set output dir."/robustness.png"
ws = real(system(sprintf("awk '!/^#/ && NF { print $4; exit }' %s", f)))
set multiplot layout 1,2 title "Fourier-mode noise on the SSM input of every layer (sequential Fashion-MNIST, test split)"
set logscale x
set grid
set yrange [0:1]
set key bottom left
set xlabel "noise frequency ω (amplitude 0.1)"
set ylabel "test accuracy"
set arrow 1 from ws, graph 0 to ws, graph 1 nohead dt 2 lc rgb "gray"
set label 1 sprintf("ω* = %.0f", ws) at ws, graph 0.95 right offset -0.5,0
plot for [k=0:3] f index (1+k) using 1:3 with linespoints lw 2 pt 7 title word("S4D-LegS S4D-Lin S4-PTD S4-DPLR", k+1)
unset arrow 1
unset label 1
set xlabel "noise amplitude (ω = ω*)"
plot for [k=0:3] f index (5+k) using 2:3 with linespoints lw 2 pt 7 title word("S4D-LegS S4D-Lin S4-PTD S4-DPLR", k+1)
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
