# plots/spikes.gp — |G_DPLR − G_S4D-LegS|(iω) for N = 16 … 256 and the top spike's height.
#   gnuplot -e "dir='out/figures'" plots/spikes.gp   → dir/spikes.png
#   (data: dir/spikes.tsv, one row per N; dir/spikes-curves.tsv, one block per N)
if (!exists("dir")) dir = "."
f = dir."/spikes.tsv"
fc = dir."/spikes-curves.tsv"
set terminal pngcairo size 1500,620 enhanced font "DejaVu Sans,12"
set output dir."/spikes.png"
stats f using 1 nooutput
nN = STATS_records
Nlo = STATS_min
Nhi = STATS_max
stats fc using 3 nooutput
wlo = STATS_min
whi = STATS_max
set multiplot layout 1,2 title "S4D-LegS vs the DPLR (= HiPPO-LegS) system: the spikes do not go away as N grows" font ",14"

set title "|G_{DPLR}(iω) − G_{S4D-LegS}(iω)| / (‖B‖_2‖C‖_2)   (B = LegS B, C = ones)"
set xlabel "frequency ω (rad per unit time)"
set ylabel "|ΔG| / (‖B‖‖C‖)"
set logscale xy
set format x "10^{%T}"
set format y "10^{%T}"
set yrange [1e-6:2]
set xrange [wlo:whi]
set key bottom left box opaque font ",11"
set grid
set linetype 1 lc rgb "#1b9e77"
set linetype 2 lc rgb "#d95f02"
set linetype 3 lc rgb "#7570b3"
set linetype 4 lc rgb "#e7298a"
set linetype 5 lc rgb "#444444"
plot for [i=0:nN-1] fc index i using 3:4 with lines lw 1.5 lt i+1 title sprintf("N = %d", Nlo * 2**i), \
     f using 2:6 with points pt 7 ps 1.6 lc rgb "black" title "refined top spike (ω at ≈ N^2/π)"

set title "Height of the top spike (unit-normalised B, C)"
set xlabel "state size N"
set ylabel "sup_ω |ΔG| / (‖B‖‖C‖)"
set logscale x 2
unset logscale y
set format x "%g"
set format y "%g"
set xrange [Nlo / 1.33:Nhi * 1.33]
set yrange [0:1]
set key at graph 0.02, graph 0.26 left top box opaque font ",11"  # below the curves, left of the falling scan
plot f using 1:6 with linespoints lw 2 pt 7 ps 1.4 title "refined, init file (B = V^* B_{LegS})", \
     f using 1:7 with linespoints lw 2 pt 5 ps 1.3 title "refined, S4D theory (B/2)", \
     f using 1:8 with linespoints lw 2 pt 9 ps 1.3 dt 2 title "plain 2000-point log scan", \
     f using 1:(0.94):(sprintf("ω/(N^2/π)\n= %.4f", $10)) with labels font ",9" notitle
unset multiplot
